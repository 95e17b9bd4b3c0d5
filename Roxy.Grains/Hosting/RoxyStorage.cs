namespace Roxy.Grains;

public static class RoxyStorage
{
    /// <summary>The ADO.NET grain storage every Roxy grain persists to.</summary>
    public const string Name = "roxy";
}
