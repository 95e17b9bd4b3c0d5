namespace Roxy.Api.Configuration;

/// <summary>Which model names a tenant may ask for.</summary>
public sealed class ModelsConfig
{
    public bool AllowUnlisted { get; set; } = true;
}
