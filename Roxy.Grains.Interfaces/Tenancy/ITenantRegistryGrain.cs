namespace Roxy.Grains.Tenancy;

/// <summary>The cluster-wide list of tenants and the token directory frontends authenticate against.</summary>
[Alias("roxy.ITenantRegistryGrain")]
public interface ITenantRegistryGrain : IGrainWithStringKey
{
    [Alias("GetTokenDirectory")]
    ValueTask<TokenDirectory> GetTokenDirectoryAsync();

    [Alias("GetVersion")]
    ValueTask<long> GetVersionAsync();

    /// <summary>Called by a tenant grain whenever its tokens change.</summary>
    [Alias("SetTenantTokens")]
    Task SetTenantTokensAsync(string tenantId, IReadOnlyList<TenantToken> tokens);

    /// <summary>Records the tenants the YAML names; returns the ones it named before but no longer does.</summary>
    [Alias("SetConfiguredTenants")]
    Task<IReadOnlyList<string>> SetConfiguredTenantsAsync(IReadOnlyList<string> tenantIds, string configFingerprint);

    [Alias("GetConfigFingerprint")]
    ValueTask<string?> GetConfigFingerprintAsync();
}
