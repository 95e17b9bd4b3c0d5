using Orleans.Concurrency;

namespace Roxy.Grains.Tenancy;

/// <summary>One tenant: its tokens, provider keys, model rules and settings, persisted in PostgreSQL.</summary>
[Alias("roxy.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>Read-only and interleaving, so a rotation grain may ask while this grain is pushing keys to it.</summary>
    [Alias("GetSnapshot"), AlwaysInterleave]
    ValueTask<TenantSnapshot> GetSnapshotAsync();

    /// <summary>Makes config-owned items match the YAML; runtime-owned items are left alone.</summary>
    [Alias("ApplyConfig")]
    Task<ConfigApplyResult> ApplyConfigAsync(TenantConfigSnapshot config);

    /// <summary>Takes a key in or out of rotation (by an admin, or because the provider refused it).</summary>
    [Alias("SetKeyEnabled")]
    Task<bool> SetKeyEnabledAsync(string keyId, bool enabled, string? reason);
}
