namespace Roxy.Grains.Tenancy;

[GenerateSerializer]
public sealed class TenantRegistryState
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public Dictionary<string, List<TenantToken>> TokensByTenant { get; set; } = new(StringComparer.Ordinal);
    [Id(2)] public List<string> ConfiguredTenants { get; set; } = [];
    [Id(3)] public string? ConfigFingerprint { get; set; }

    /// <summary>Tenants the YAML no longer names whose config-owned items are not yet known to be removed.</summary>
    [Id(4)] public List<string> PendingRemoval { get; set; } = [];

    /// <summary>Tenants created through the admin API (never also in <see cref="ConfiguredTenants"/>).</summary>
    [Id(5)] public List<string> RuntimeTenants { get; set; } = [];
}
