using Microsoft.Extensions.Logging;
using Roxy.Grains.Rotation;
using Roxy.Grains.Routing;

namespace Roxy.Grains.Tenancy;

public sealed class TenantGrain(
    [PersistentState("tenant", RoxyStorage.Name)] IPersistentState<TenantState> state,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain
{
    private TenantSnapshot? _snapshot;

    ValueTask<TenantSnapshot> ITenantGrain.GetSnapshotAsync() => ValueTask.FromResult(_snapshot ??= BuildSnapshot());

    async Task<ConfigApplyResult> ITenantGrain.ApplyConfigAsync(TenantConfigSnapshot config)
    {
        var s = state.State;
        var previousFingerprint = s.ConfigFingerprint;
        var previousProviders = s.Keys.Select(k => k.Provider).ToHashSet(StringComparer.Ordinal);
        var previousTokens = s.Tokens;

        var tokens = OwnedMerge.Apply(s.Tokens, config.Tokens, t => t.Id, t => t.Owner);
        // An admin may have disabled a config key at run time; the YAML does not silently re-enable it.
        var keys = OwnedMerge.Apply(
            s.Keys,
            config.Keys,
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

    async Task<bool> ITenantGrain.SetKeyEnabledAsync(string keyId, bool enabled, string? reason)
    {
        var keys = state.State.Keys;
        var index = keys.FindIndex(k => k.Id == keyId);
        if (index < 0)
        {
            return false;
        }

        var updated = keys[index] with { Enabled = enabled, DisabledReason = enabled ? null : reason };
        if (updated == keys[index])
        {
            return true;
        }

        keys[index] = updated;
        state.State.Version++;
        await state.WriteStateAsync();
        _snapshot = null;
        await PushKeysAsync([updated.Provider]);
        return true;
    }

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
