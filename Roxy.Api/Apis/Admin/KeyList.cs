namespace Roxy.Api.Apis.Admin;

/// <summary>The tenant's keys, ordered by provider and id.</summary>
public sealed record KeyList(IReadOnlyList<KeyView> Data)
{
    public static KeyList Example { get; } = new([KeyView.Example]);
}
