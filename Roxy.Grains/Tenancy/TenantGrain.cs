using Microsoft.Extensions.Logging;
using Roxy.Grains.Keys;
using Roxy.Grains.Rotation;
using Roxy.Grains.Routing;

namespace Roxy.Grains.Tenancy;

public sealed class TenantGrain(
    [PersistentState("tenant", RoxyStorage.Name)] IPersistentState<TenantState> state,
    TimeProvider time,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain
{
    private const int MaxAuditEntries = 500;
    private readonly Dictionary<string, DateTimeOffset> _lastProbe = new(StringComparer.Ordinal);
    private TenantSnapshot? _snapshot;

    ValueTask<TenantSnapshot> ITenantGrain.GetSnapshotAsync() => ValueTask.FromResult(_snapshot ??= BuildSnapshot());

    async Task<ConfigApplyResult> ITenantGrain.ApplyConfigAsync(TenantConfigSnapshot config)
    {
        var s = state.State;
        var previousFingerprint = s.ConfigFingerprint;
        var previousProviders = s.Keys.Select(k => k.Provider).ToHashSet(StringComparer.Ordinal);
        var previousTokens = s.Tokens;

        // A secret already held by another tenant stays with that tenant; this config entry is skipped.
        var configKeys = new List<ProviderKey>(config.Keys.Count);
        foreach (var key in config.Keys)
        {
            if (await ApiKey(key).ClaimAsync(TenantId, key.Id))
            {
                configKeys.Add(key);
            }
            else
            {
                logger.LogWarning("Tenant {Tenant}: config key {KeyId} ({Provider}) is held by another tenant and was not added", TenantId, key.Id, key.Provider);
            }
        }

        var tokens = OwnedMerge.Apply(s.Tokens, config.Tokens, t => t.Id, t => t.Owner);
        // An admin may have disabled a config key at run time; the YAML does not silently re-enable it.
        var keys = OwnedMerge.Apply(
            s.Keys,
            configKeys,
            k => k.Id,
            k => k.Owner,
            (old, wanted) => wanted with { Enabled = old.Enabled, DisabledReason = old.DisabledReason });
        var rules = OwnedMerge.Apply(s.ModelRules, config.ModelRules, r => r.SourceModel, r => r.Owner, equals: SameRule);

        var changed = !s.Exists
            || tokens.Added + tokens.Changed + tokens.Removed
             + keys.Added + keys.Changed + keys.Removed
             + rules.Added + rules.Changed + rules.Removed > 0
            || s.Cache != config.Cache
            || s.AllowUnlisted != config.AllowUnlisted
            || s.ConfigFingerprint != config.ConfigFingerprint
            || !s.ModelRules.Select(r => r.SourceModel).SequenceEqual(rules.Merged.Select(r => r.SourceModel));

        if (changed)
        {
            foreach (var gone in s.Keys.Where(k => k.Owner == Owner.Config && !keys.Merged.Any(m => m.Id == k.Id)))
            {
                await ApiKey(gone).ReleaseAsync(TenantId, gone.Id);
            }

            s.Exists = true;
            s.Tokens = tokens.Merged;
            s.Keys = keys.Merged;
            s.ModelRules = rules.Merged;
            s.Cache = config.Cache;
            s.AllowUnlisted = config.AllowUnlisted;
            s.ConfigFingerprint = config.ConfigFingerprint;
            s.Version++;
            await state.WriteStateAsync();
            _snapshot = null;

            if (!previousTokens.SequenceEqual(s.Tokens))
            {
                await GrainFactory.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry)
                    .SetTenantTokensAsync(this.GetPrimaryKeyString(), s.Tokens);
            }

            previousProviders.UnionWith(s.Keys.Select(k => k.Provider));
            await PushKeysAsync(previousProviders);
            logger.LogInformation(
                "Tenant {Tenant} config applied: keys +{KeysAdded} ~{KeysChanged} -{KeysRemoved}, rules +{RulesAdded} ~{RulesChanged} -{RulesRemoved}, tokens +{TokensAdded} -{TokensRemoved}",
                this.GetPrimaryKeyString(), keys.Added, keys.Changed, keys.Removed, rules.Added, rules.Changed, rules.Removed, tokens.Added, tokens.Removed);
        }

        return new ConfigApplyResult(
            previousFingerprint,
            tokens.Added + keys.Added + rules.Added,
            tokens.Changed + keys.Changed + rules.Changed,
            tokens.Removed + keys.Removed + rules.Removed);
    }

    async Task<bool> ITenantGrain.SetKeyEnabledAsync(string keyId, bool enabled, string? reason, AuditEntry? audit)
    {
        var keys = state.State.Keys;
        var index = keys.FindIndex(k => k.Id == keyId);
        if (index < 0)
        {
            return false;
        }

        var updated = keys[index] with { Enabled = enabled, DisabledReason = enabled ? null : reason };
        if (updated == keys[index] && audit is null)
        {
            return true;
        }

        keys[index] = updated;
        if (enabled)
        {
            _lastProbe.Remove(keyId);
        }
        else
        {
            _lastProbe[keyId] = time.GetUtcNow();
        }
        await CommitAsync(audit, [updated.Provider]);
        return true;
    }

    async Task<bool> ITenantGrain.ReenableRefusedKeyAsync(string keyId)
    {
        var key = state.State.Keys.Find(k => k.Id == keyId);
        // An admin may have disabled the key while the probe was in flight: that decision stands.
        if (key is null || key.Enabled || key.DisabledReason is not ("auth" or "quota"))
        {
            return false;
        }

        return await ((ITenantGrain)this).SetKeyEnabledAsync(keyId, true, null);
    }

    async Task<KeyChangeResult> ITenantGrain.AddKeyAsync(ProviderKey key, AuditEntry audit)
    {
        var existing = state.State.Keys.FirstOrDefault(k => k.Fingerprint == key.Fingerprint || k.Id == key.Id);
        if (existing is not null)
        {
            return new KeyChangeResult(KeyChangeStatus.AlreadyPresent, existing);
        }

        if (!await ApiKey(key).ClaimAsync(TenantId, key.Id))
        {
            return new KeyChangeResult(KeyChangeStatus.HeldByAnotherTenant, null);
        }

        var added = key with { Owner = Owner.Runtime, Source = KeySource.Chat, Enabled = true, DisabledReason = null };
        state.State.Keys.Add(added);
        try
        {
            await CommitAsync(audit, [added.Provider]);
        }
        catch
        {
            await ApiKey(key).ReleaseAsync(TenantId, key.Id);
            throw;
        }

        return new KeyChangeResult(KeyChangeStatus.Done, added);
    }

    async Task<KeyChangeResult> ITenantGrain.RemoveKeyAsync(string keyIdOrFingerprint, AuditEntry audit)
    {
        var keys = state.State.Keys;
        var index = keys.FindIndex(k => k.Id == keyIdOrFingerprint || k.Fingerprint == keyIdOrFingerprint);
        if (index < 0)
        {
            return new KeyChangeResult(KeyChangeStatus.NotFound, null);
        }

        var key = keys[index];
        if (key.Owner == Owner.Config)
        {
            return new KeyChangeResult(KeyChangeStatus.ConfigOwned, key);
        }

        keys.RemoveAt(index);
        await CommitAsync(audit, [key.Provider]);
        await ApiKey(key).ReleaseAsync(TenantId, key.Id);
        return new KeyChangeResult(KeyChangeStatus.Done, key);
    }

    ValueTask<IReadOnlyList<AuditEntry>> ITenantGrain.GetAuditAsync(int count)
    {
        var audit = state.State.Audit;
        var take = Math.Clamp(count, 0, audit.Count);
        IReadOnlyList<AuditEntry> newestFirst = audit.Skip(audit.Count - take).Reverse().ToArray();
        return ValueTask.FromResult(newestFirst);
    }

    Task<IReadOnlyList<ProviderKey>> ITenantGrain.ClaimProbesAsync(TimeSpan interval)
    {
        var now = time.GetUtcNow();
        var due = new List<ProviderKey>();
        foreach (var key in state.State.Keys)
        {
            // Only refusals by the provider come back by themselves; an admin's "disable" is final until enabled.
            if (key.Enabled || key.DisabledReason is not ("auth" or "quota"))
            {
                continue;
            }

            // A key refused just now (or before this activation) waits one interval before its first probe.
            if (!_lastProbe.TryGetValue(key.Id, out var last))
            {
                _lastProbe[key.Id] = now;
            }
            else if (now - last >= interval)
            {
                _lastProbe[key.Id] = now;
                due.Add(key);
            }
        }

        return Task.FromResult<IReadOnlyList<ProviderKey>>(due);
    }

    /// <summary>Persists a change (with its audit entry) and tells the affected rotation grains.</summary>
    private async Task CommitAsync(AuditEntry? audit, IEnumerable<string> providers)
    {
        var s = state.State;
        if (audit is not null)
        {
            s.Audit.Add(audit);
            if (s.Audit.Count > MaxAuditEntries)
            {
                s.Audit.RemoveRange(0, s.Audit.Count - MaxAuditEntries);
            }
        }

        s.Exists = true;
        s.Version++;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Memory must not run ahead of storage: drop this activation so the next call reloads the truth.
            _snapshot = null;
            DeactivateOnIdle();
            throw;
        }

        _snapshot = null;
        await PushKeysAsync(providers);
    }

    private string TenantId => this.GetPrimaryKeyString();

    private IApiKeyGrain ApiKey(ProviderKey key) => GrainFactory.GetGrain<IApiKeyGrain>(key.Fingerprint);

    private Task PushKeysAsync(IEnumerable<string> providers)
    {
        var tenantId = this.GetPrimaryKeyString();
        var pushes = new List<Task>();
        foreach (var provider in providers)
        {
            var keys = state.State.Keys.Where(k => k.Provider == provider).ToArray();
            pushes.Add(GrainFactory.GetGrain<IRotationGrain>(GrainKeys.Rotation(tenantId, provider)).SetKeysAsync(keys));
        }

        return Task.WhenAll(pushes);
    }

    // Records compare lists by reference; rules must compare their targets by value.
    private static bool SameRule(ModelRule a, ModelRule b) =>
        a.SourceModel == b.SourceModel && a.Policy == b.Policy && a.Owner == b.Owner
        && a.FailoverOnContextLength == b.FailoverOnContextLength && a.Targets.SequenceEqual(b.Targets);

    private TenantSnapshot BuildSnapshot()
    {
        var s = state.State;
        return new TenantSnapshot(
            this.GetPrimaryKeyString(),
            s.Version,
            s.Tokens.ToArray(),
            s.Keys.ToArray(),
            s.ModelRules.ToArray(),
            s.Cache,
            s.AllowUnlisted,
            s.ConfigFingerprint,
            s.Exists);
    }
}
