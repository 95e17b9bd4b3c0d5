using Orleans.Concurrency;
using Roxy.Grains.Routing;

namespace Roxy.Grains.Tenancy;

/// <summary>One tenant: its tokens, provider keys, the index of its model rules and its settings, persisted in PostgreSQL.</summary>
[Alias("roxy.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>Read-only and interleaving, so a rotation grain may ask while this grain is pushing keys to it.</summary>
    [Alias("GetSnapshot"), AlwaysInterleave]
    ValueTask<TenantSnapshot> GetSnapshotAsync();

    /// <summary>The snapshot's version alone: what frontends poll several times a second to notice a change.</summary>
    [Alias("GetVersion"), AlwaysInterleave]
    ValueTask<long> GetVersionAsync();

    /// <summary>Makes config-owned items match the YAML; runtime-owned items are left alone.</summary>
    [Alias("ApplyConfig")]
    Task<ConfigApplyResult> ApplyConfigAsync(TenantConfigSnapshot config);

    /// <summary>Takes a key in or out of rotation (by an admin, or because the provider refused it); false when the tenant or the key does not exist.</summary>
    /// <param name="audit">Set when a person made the change; provider refusals and probes are not audited.</param>
    [Alias("SetKeyEnabled")]
    Task<bool> SetKeyEnabledAsync(string keyId, bool enabled, string? reason, AuditEntry? audit = null);

    /// <summary>Brings back a key the provider refused, unless it is no longer disabled for that reason.</summary>
    [Alias("ReenableRefusedKey")]
    Task<bool> ReenableRefusedKeyAsync(string keyId);

    /// <summary>Adds a runtime-owned key (secret already encrypted by the frontend).</summary>
    [Alias("AddKey")]
    Task<KeyChangeResult> AddKeyAsync(Rotation.ProviderKey key, AuditEntry audit);

    /// <summary>Removes a runtime-owned key by id or fingerprint; config-owned keys are refused.</summary>
    [Alias("RemoveKey")]
    Task<KeyChangeResult> RemoveKeyAsync(string keyIdOrFingerprint, AuditEntry audit);

    /// <summary>
    /// Adds a target to the source model's runtime rule, creating the rule (policy fallback unless given) when there is
    /// none; with a policy, also sets the rule's policy. Config-owned rules are refused.
    /// </summary>
    [Alias("AddRuleTarget")]
    Task<RuleChangeResult> AddRuleTargetAsync(string sourceModel, RuleTarget target, SelectionPolicy? policy, AuditEntry audit);

    /// <summary>Removes one target of a runtime rule (the whole rule with its last target), or the whole rule when <paramref name="target"/> is null.</summary>
    [Alias("RemoveRule")]
    Task<RuleChangeResult> RemoveRuleAsync(string sourceModel, RuleTarget? target, AuditEntry audit);

    /// <summary>
    /// Creates or replaces a runtime rule with exactly <paramref name="rule"/>'s targets, policy and context-length
    /// failover (stored runtime-owned). Config-owned rules are refused; an identical rule is <see cref="RuleChangeStatus.Unchanged"/>.
    /// </summary>
    [Alias("SetRule")]
    Task<RuleChangeResult> SetRuleAsync(ModelRule rule, AuditEntry audit);

    /// <summary>
    /// Makes every prompt cache entry of the tenant unreachable at once (the next generation); their rows are removed
    /// in the background. Returns the new generation; null when the tenant does not exist.
    /// </summary>
    [Alias("ClearCache")]
    Task<long?> ClearCacheAsync(AuditEntry audit);

    /// <summary>Adds a runtime-owned token (hash only: the frontend made the token and shows it once).</summary>
    [Alias("IssueToken")]
    Task<TokenChangeResult> IssueTokenAsync(TenantToken token, AuditEntry audit);

    /// <summary>Removes a runtime-owned token; the registry's directory drops it in the same call.</summary>
    [Alias("RevokeToken")]
    Task<TokenChangeResult> RevokeTokenAsync(string tokenId, AuditEntry audit);

    /// <summary>Sets (null: removes) the tenant's runtime budget; a budget the config sets is <see cref="TenantChangeStatus.ConfigOwned"/>.</summary>
    [Alias("SetBudget")]
    Task<TenantChangeStatus> SetBudgetAsync(Budgets.BudgetLimits? budget, AuditEntry audit);

    /// <summary>Makes this a runtime-owned tenant with nothing in it; <see cref="TenantChangeStatus.AlreadyExists"/> if it exists.</summary>
    [Alias("Create")]
    Task<TenantChangeStatus> CreateAsync(AuditEntry audit);

    /// <summary>
    /// Deletes a runtime-owned tenant with its tokens, keys, rules, cache entries and stats, usage, budgets and audit log
    /// (the deletion itself is logged, not audited). Its cache
    /// generation moves on rather than starting again, so a tenant created later under the same id never meets old entries.
    /// </summary>
    [Alias("Delete")]
    Task<TenantChangeStatus> DeleteAsync(AuditEntry audit);

    [Alias("GetAudit"), AlwaysInterleave]
    ValueTask<IReadOnlyList<AuditEntry>> GetAuditAsync(int count);

    /// <summary>
    /// Keys the provider refused (auth, quota) whose last probe is older than <paramref name="interval"/>; each is
    /// handed to one caller per interval, so several frontends do not probe the same key at once. A key that a probe
    /// brought back and the provider refused again soon after waits twice as long each time, up to an hour.
    /// </summary>
    [Alias("ClaimProbes")]
    Task<IReadOnlyList<Rotation.ProviderKey>> ClaimProbesAsync(TimeSpan interval);
}
