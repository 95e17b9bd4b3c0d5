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

    /// <summary>
    /// Records the tenants the YAML names; returns the ones to empty: named before but no longer, including those an
    /// earlier, interrupted apply left pending. Each stays pending until <see cref="CompleteRemovalAsync"/>.
    /// </summary>
    [Alias("SetConfiguredTenants")]
    Task<IReadOnlyList<string>> SetConfiguredTenantsAsync(IReadOnlyList<string> tenantIds, string configFingerprint);

    /// <summary>The applier has removed this dropped tenant's config-owned items.</summary>
    [Alias("CompleteRemoval")]
    Task CompleteRemovalAsync(string tenantId);

    /// <summary>Every tenant: those the YAML names and those created at run time.</summary>
    [Alias("ListTenants")]
    ValueTask<IReadOnlyList<TenantListing>> ListTenantsAsync();

    /// <summary>Claims <paramref name="tenantId"/> for a runtime tenant: false when a config or runtime tenant has it.</summary>
    [Alias("AddRuntimeTenant")]
    Task<bool> AddRuntimeTenantAsync(string tenantId);

    /// <summary>Forgets a deleted runtime tenant, its tokens included.</summary>
    [Alias("RemoveRuntimeTenant")]
    Task RemoveRuntimeTenantAsync(string tenantId);

    [Alias("GetConfigFingerprint")]
    ValueTask<string?> GetConfigFingerprintAsync();
}
