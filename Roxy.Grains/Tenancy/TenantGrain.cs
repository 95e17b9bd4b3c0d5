using Microsoft.Extensions.Logging;
using Roxy.Grains.Budgets;
using Roxy.Grains.Caching;
using Roxy.Grains.Hosting;
using Roxy.Grains.Keys;
using Roxy.Grains.Rotation;
using Roxy.Grains.Routing;
using Roxy.Grains.Tracing;
using Roxy.Grains.Usage;

namespace Roxy.Grains.Tenancy;

public sealed class TenantGrain(
    [PersistentState("tenant", RoxyStorage.Name)] IPersistentState<TenantState> state,
    AuditLog auditLog,
    PromptCacheStore cacheStore,
    TimeProvider time,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain
{
    private readonly ProbeSchedule _probes = new(time);
    private TenantSnapshot? _snapshot;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Rows written before the audit log had its own table carry their entries: move them there once.
        if (state.State.Audit.Count > 0)
        {
            await auditLog.AppendAsync(TenantId, state.State.Audit);
            await SaveAsync(s => s.Audit = []);
        }

        // Rows written before rules became grains carry the rules themselves: each moves into its grain, then the row
        // keeps only the index. Interrupted in between, the next activation repeats it; rewriting an equal rule is free.
        if (state.State.ModelRules.Count > 0)
        {
            var legacy = state.State.ModelRules.DistinctBy(r => r.SourceModel, StringComparer.Ordinal).ToArray();
            var stamps = await Task.WhenAll(legacy.Select(async r => new RuleStamp(r.SourceModel, r.Owner, await Rule(r.SourceModel).SetAsync(r))));
            var moved = legacy.Select(r => r.SourceModel).ToHashSet(StringComparer.Ordinal);
            await SaveAsync(s =>
            {
                s.Rules = [.. stamps, .. s.Rules.Where(r => !moved.Contains(r.SourceModel))];
                s.ModelRules = [];
            });
            logger.LogInformation("Tenant {Tenant}: moved {Count} model rule(s) from the tenant row into rule grains", TenantId, stamps.Length);
        }
    }

    ValueTask<TenantSnapshot> ITenantGrain.GetSnapshotAsync() => ValueTask.FromResult(_snapshot ??= BuildSnapshot());

    // From the snapshot, not the state: while a write is in flight the state is already ahead of what is stored.
    ValueTask<long> ITenantGrain.GetVersionAsync() => ValueTask.FromResult((_snapshot ??= BuildSnapshot()).Version);

    async Task<ConfigApplyResult> ITenantGrain.ApplyConfigAsync(TenantConfigSnapshot config)
    {
        var s = state.State;
        var previousFingerprint = s.ConfigFingerprint;
        var previousProviders = s.Keys.Select(k => k.Provider).ToHashSet(StringComparer.Ordinal);

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
        var rules = await ApplyConfigRulesAsync(config.ModelRules);
        var (budget, budgetOwner) = ConfigBudget(s, config.Budget);

        var changed = !s.Exists
            || s.Owner != Owner.Config
            || s.Budget != budget
            || s.BudgetOwner != budgetOwner
            || tokens.Added + tokens.Changed + tokens.Removed
             + keys.Added + keys.Changed + keys.Removed
             + rules.Added + rules.Changed + rules.Removed > 0
            || s.Cache != config.Cache
            || s.AllowUnlisted != config.AllowUnlisted
            || s.ConfigFingerprint != config.ConfigFingerprint
            || !s.Rules.SequenceEqual(rules.Index);

        if (changed)
        {
            var gone = s.Keys.Where(k => k.Owner == Owner.Config && !keys.Merged.Any(m => m.Id == k.Id)).ToArray();
            await SaveAsync(next =>
            {
                next.Tokens = tokens.Merged;
                next.Keys = keys.Merged;
                next.Rules = rules.Index;
                next.Cache = config.Cache;
                next.AllowUnlisted = config.AllowUnlisted;
                next.ConfigFingerprint = config.ConfigFingerprint;
                next.Budget = budget;
                next.BudgetOwner = budgetOwner;
                next.Owner = Owner.Config;
                next.Exists = true;
            });

            // Only once the tenant no longer lists them: released first, a failed write would leave a key here that another tenant could claim.
            foreach (var key in gone)
            {
                await ApiKey(key).ReleaseAsync(TenantId, key.Id);
            }

            ExpireRules(rules.Touched);
            logger.LogInformation(
                "Tenant {Tenant} config applied: keys +{KeysAdded} ~{KeysChanged} -{KeysRemoved}, rules +{RulesAdded} ~{RulesChanged} -{RulesRemoved}, tokens +{TokensAdded} -{TokensRemoved}",
                TenantId, keys.Added, keys.Changed, keys.Removed, rules.Added, rules.Changed, rules.Removed, tokens.Added, tokens.Removed);
        }

        // Pushed on every apply, changed or not: an earlier push may have failed after the write (the process died, the
        // registry's write failed), and this is what repairs it. Both receivers ignore a push that changes nothing.
        await Registry.SetTenantTokensAsync(TenantId, s.Tokens);
        previousProviders.UnionWith(s.Keys.Select(k => k.Provider));
        await PushKeysAsync(previousProviders);

        return new ConfigApplyResult(
            previousFingerprint,
            tokens.Added + keys.Added + rules.Added,
            tokens.Changed + keys.Changed + rules.Changed,
            tokens.Removed + keys.Removed + rules.Removed);
    }

    async Task<bool> ITenantGrain.SetKeyEnabledAsync(string keyId, bool enabled, string? reason, AuditEntry? audit)
    {
        if (!state.State.Exists)
        {
            return false;
        }

        var keys = state.State.Keys;
        var index = keys.FindIndex(k => k.Id == keyId);
        if (index < 0)
        {
            return false;
        }

        var updated = keys[index] with { Enabled = enabled, DisabledReason = enabled ? null : reason };
        if (updated == keys[index])
        {
            // Nothing changes, so nothing is written or audited: repeating a command cannot churn the row or the log.
            return true;
        }

        await SaveAsync(s => s.Keys[index] = updated);
        // A person's decision, either way, ends what the probes learnt; a provider's refusal schedules the next probe.
        // (A probe's own return is recorded by ReenableRefusedKeyAsync once this succeeded.)
        if (audit is not null)
        {
            _probes.Forget(keyId);
        }
        else if (!enabled)
        {
            _probes.Refused(keyId, reason);
        }

        await PushKeysAsync([updated.Provider]);
        await AuditAsync(audit);
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

        var reason = key.DisabledReason;
        if (!await ((ITenantGrain)this).SetKeyEnabledAsync(keyId, true, null))
        {
            return false;
        }

        _probes.Returned(keyId, reason);
        return true;
    }

    async Task<KeyChangeResult> ITenantGrain.AddKeyAsync(ProviderKey key, AuditEntry audit)
    {
        if (!state.State.Exists)
        {
            return new KeyChangeResult(KeyChangeStatus.TenantNotFound, null);
        }

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
        try
        {
            await SaveAsync(s => s.Keys.Add(added));
        }
        catch
        {
            await ApiKey(key).ReleaseAsync(TenantId, key.Id);
            throw;
        }

        await PushKeysAsync([added.Provider]);
        await AuditAsync(audit);
        return new KeyChangeResult(KeyChangeStatus.Done, added);
    }

    async Task<KeyChangeResult> ITenantGrain.RemoveKeyAsync(string keyIdOrFingerprint, AuditEntry audit)
    {
        if (!state.State.Exists)
        {
            return new KeyChangeResult(KeyChangeStatus.TenantNotFound, null);
        }

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

        await SaveAsync(s => s.Keys.RemoveAt(index));
        await PushKeysAsync([key.Provider]);
        await ApiKey(key).ReleaseAsync(TenantId, key.Id);
        await AuditAsync(audit);
        return new KeyChangeResult(KeyChangeStatus.Done, key);
    }

    async Task<RuleChangeResult> ITenantGrain.AddRuleTargetAsync(string sourceModel, RuleTarget target, SelectionPolicy? policy, AuditEntry audit)
    {
        if (!state.State.Exists)
        {
            return new RuleChangeResult(RuleChangeStatus.TenantNotFound, null);
        }

        var current = await CurrentRuleAsync(sourceModel);
        var status = RuleEdits.AddTarget(current, sourceModel, target, policy, out var next);
        if (status != RuleChangeStatus.Done)
        {
            return new RuleChangeResult(status, current);
        }

        await WriteRuleAsync(sourceModel, next, current);
        ExpireRules([(sourceModel, next)]);
        await AuditAsync(audit);
        return new RuleChangeResult(RuleChangeStatus.Done, next);
    }

    async Task<RuleChangeResult> ITenantGrain.RemoveRuleAsync(string sourceModel, RuleTarget? target, AuditEntry audit)
    {
        if (!state.State.Exists)
        {
            return new RuleChangeResult(RuleChangeStatus.TenantNotFound, null);
        }

        var current = await CurrentRuleAsync(sourceModel);
        if (current is null && state.State.Rules.Exists(r => r.SourceModel == sourceModel))
        {
            // Listed, but its grain holds no rule: a removal whose index write failed. Finishing it is not a change.
            await WriteRuleAsync(sourceModel, null, null);
        }

        var status = RuleEdits.RemoveTarget(current, target, out var next);
        if (status != RuleChangeStatus.Done)
        {
            return new RuleChangeResult(status, current);
        }

        await WriteRuleAsync(sourceModel, next, current);
        ExpireRules([(sourceModel, next)]);
        await AuditAsync(audit);
        return new RuleChangeResult(RuleChangeStatus.Done, next);
    }

    async Task<RuleChangeResult> ITenantGrain.SetRuleAsync(ModelRule rule, AuditEntry audit)
    {
        if (!state.State.Exists)
        {
            return new RuleChangeResult(RuleChangeStatus.TenantNotFound, null);
        }

        var current = await CurrentRuleAsync(rule.SourceModel);
        if (current?.Owner == Owner.Config)
        {
            return new RuleChangeResult(RuleChangeStatus.ConfigOwned, current);
        }

        var next = rule with { Targets = [.. rule.Targets], Owner = Owner.Runtime };
        if (EmbeddingModels.Mixed(next).Count > 0)
        {
            return new RuleChangeResult(RuleChangeStatus.EmbeddingModelsDiffer, current);
        }

        if (current is not null && current.Policy == next.Policy && current.FailoverOnContextLength == next.FailoverOnContextLength
            && current.Targets.SequenceEqual(next.Targets))
        {
            return new RuleChangeResult(RuleChangeStatus.Unchanged, current);
        }

        await WriteRuleAsync(next.SourceModel, next, current);
        ExpireRules([(next.SourceModel, next)]);
        await AuditAsync(audit);
        return new RuleChangeResult(RuleChangeStatus.Done, next);
    }

    async Task<long?> ITenantGrain.ClearCacheAsync(AuditEntry audit)
    {
        if (!state.State.Exists)
        {
            return null;
        }

        await SaveAsync(s => s.CacheGeneration++);
        var generation = state.State.CacheGeneration;
        await AuditAsync(audit);

        // The new generation is in every key from the next snapshot on; the old rows only take room until this frees them.
        var tenantId = TenantId;
        InBackground(() => cacheStore.ExpireGenerationsBelowAsync(tenantId, generation), "rows of older cache generations");
        return generation;
    }

    async Task<TokenChangeResult> ITenantGrain.IssueTokenAsync(TenantToken token, AuditEntry audit)
    {
        if (!state.State.Exists)
        {
            return new TokenChangeResult(TokenChangeStatus.TenantNotFound, null);
        }

        var existing = state.State.Tokens.Find(t => t.Id == token.Id || t.Hash == token.Hash);
        if (existing is not null)
        {
            return new TokenChangeResult(TokenChangeStatus.AlreadyPresent, existing);
        }

        var issued = token with { Owner = Owner.Runtime };
        await SaveAsync(s => s.Tokens.Add(issued));
        // Before answering: the frontend that issued it refreshes its directory next and must find the token there.
        await Registry.SetTenantTokensAsync(TenantId, state.State.Tokens);
        await AuditAsync(audit);
        return new TokenChangeResult(TokenChangeStatus.Done, issued);
    }

    async Task<TokenChangeResult> ITenantGrain.RevokeTokenAsync(string tokenId, AuditEntry audit)
    {
        if (!state.State.Exists)
        {
            return new TokenChangeResult(TokenChangeStatus.TenantNotFound, null);
        }

        var token = state.State.Tokens.Find(t => t.Id == tokenId);
        if (token is null)
        {
            return new TokenChangeResult(TokenChangeStatus.NotFound, null);
        }

        if (token.Owner == Owner.Config)
        {
            return new TokenChangeResult(TokenChangeStatus.ConfigOwned, token);
        }

        await SaveAsync(s => s.Tokens.RemoveAll(t => t.Id == tokenId));
        // Before answering, so the revoking frontend's forced refresh no longer finds it.
        await Registry.SetTenantTokensAsync(TenantId, state.State.Tokens);
        if (token.Budget is not null)
        {
            await TolerateAsync(() => Budget(token.Id).ResetAsync(), $"the budget of revoked token {token.Id}");
        }

        await AuditAsync(audit);
        return new TokenChangeResult(TokenChangeStatus.Done, token);
    }

    async Task<TenantChangeStatus> ITenantGrain.SetBudgetAsync(BudgetLimits? budget, AuditEntry audit)
    {
        var s = state.State;
        if (!s.Exists)
        {
            return TenantChangeStatus.NotFound;
        }

        if (s.Budget is not null && s.BudgetOwner == Owner.Config)
        {
            return TenantChangeStatus.ConfigOwned;
        }

        var next = budget is null || budget.IsEmpty ? null : budget;
        if (next == s.Budget)
        {
            return TenantChangeStatus.Done;
        }

        await SaveAsync(t => (t.Budget, t.BudgetOwner) = (next, Owner.Runtime));
        await AuditAsync(audit);
        return TenantChangeStatus.Done;
    }

    async Task<TenantChangeStatus> ITenantGrain.CreateAsync(AuditEntry audit)
    {
        if (state.State.Exists || !await Registry.AddRuntimeTenantAsync(TenantId))
        {
            return TenantChangeStatus.AlreadyExists;
        }

        try
        {
            // Like a config tenant with nothing configured; the cache generation carries on from a deleted namesake.
            await SaveAsync(s =>
            {
                s.Owner = Owner.Runtime;
                s.Tokens = [];
                s.Keys = [];
                s.Rules = [];
                s.ModelRules = [];
                s.Cache = new CacheSettings(true, 3600, false);
                s.AllowUnlisted = true;
                s.ConfigFingerprint = null;
                s.Budget = null;
                s.BudgetOwner = Owner.Runtime;
                s.Exists = true;
            });
        }
        catch
        {
            await Registry.RemoveRuntimeTenantAsync(TenantId);
            throw;
        }

        await AuditAsync(audit);
        return TenantChangeStatus.Done;
    }

    async Task<TenantChangeStatus> ITenantGrain.DeleteAsync(AuditEntry audit)
    {
        var s = state.State;
        if (!s.Exists)
        {
            return TenantChangeStatus.NotFound;
        }

        if (s.Owner == Owner.Config)
        {
            return TenantChangeStatus.ConfigOwned;
        }

        var tokens = s.Tokens.ToArray();
        var keys = s.Keys.ToArray();
        var rules = s.Rules.Select(r => r.SourceModel).ToArray();

        // Tokens first: from here on no frontend lets anyone in, whatever of the rest fails.
        await Registry.RemoveRuntimeTenantAsync(TenantId);
        await SaveAsync(next =>
        {
            next.Tokens = [];
            next.Keys = [];
            next.Rules = [];
            next.ModelRules = [];
            next.Budget = null;
            next.BudgetOwner = Owner.Runtime;
            next.CacheGeneration++;
            next.Exists = false;
        });

        // The tenant is gone; what follows frees what it held. Each part is logged if it fails rather than undoing the delete.
        var tenantId = TenantId;
        var generation = state.State.CacheGeneration;
        await TolerateAsync(() => PushKeysAsync(keys.Select(k => k.Provider).Distinct(StringComparer.Ordinal)), "its keys' rotation pools");
        foreach (var key in keys)
        {
            await TolerateAsync(() => ApiKey(key).ReleaseAsync(tenantId, key.Id), $"key {key.Id}");
        }

        foreach (var source in rules)
        {
            await TolerateAsync(() => Rule(source).SetAsync(null), $"model rule {source}");
        }

        InBackground(() => cacheStore.DeleteTenantAsync(tenantId), "its prompt cache rows");
        await TolerateAsync(() => GrainFactory.GetGrain<ICacheStatsGrain>(GrainKeys.CacheStats(tenantId)).ResetAsync(), "its cache stats");
        await TolerateAsync(() => auditLog.DeleteTenantAsync(tenantId), "its audit log");
        await TolerateAsync(() => GrainFactory.GetGrain<IUsageGrain>(GrainKeys.Usage(tenantId)).DeleteAllAsync(), "its usage");
        await TolerateAsync(() => GrainFactory.GetGrain<IRequestTraceGrain>(GrainKeys.RequestTrace(tenantId)).DeleteAllAsync(), "its request traces");
        await TolerateAsync(() => Budget(null).ResetAsync(), "its budget");
        foreach (var token in tokens.Where(t => t.Budget is not null))
        {
            await TolerateAsync(() => Budget(token.Id).ResetAsync(), $"the budget of token {token.Id}");
        }

        // Not in the audit log: that went with the tenant, and a tenant created later under this id starts with none.
        logger.LogInformation(
            "Tenant {Tenant} deleted by {TokenId} ({Channel}): {Tokens} token(s), {Keys} key(s), {Rules} rule(s); cache generation now {Generation}",
            tenantId, audit.TokenId, audit.Channel, tokens.Length, keys.Length, rules.Length, generation);
        return TenantChangeStatus.Done;
    }

    async ValueTask<IReadOnlyList<AuditEntry>> ITenantGrain.GetAuditAsync(int count) => await auditLog.ReadAsync(TenantId, count);

    Task<IReadOnlyList<ProviderKey>> ITenantGrain.ClaimProbesAsync(TimeSpan interval)
    {
        var due = new List<ProviderKey>();
        foreach (var key in state.State.Keys)
        {
            // Only refusals by the provider come back by themselves; an admin's "disable" is final until enabled.
            if (key.Enabled || key.DisabledReason is not ("auth" or "quota"))
            {
                continue;
            }

            if (_probes.TryClaim(key.Id, interval))
            {
                due.Add(key);
            }
        }

        return Task.FromResult<IReadOnlyList<ProviderKey>>(due);
    }

    /// <summary>
    /// Makes the config-owned rules match the YAML: each is written to its grain (an unchanged one is not rewritten and
    /// keeps its version), config rules the YAML dropped are emptied, and a YAML rule for a source that had a runtime
    /// rule takes it over. Runtime rules stay, but their stamps are read back from their grains: a change whose index
    /// write failed after its grain was written (and could not be undone) is picked up here, at every start.
    /// </summary>
    private async Task<(List<RuleStamp> Index, int Added, int Changed, int Removed, List<(string Source, ModelRule? Rule)> Touched)> ApplyConfigRulesAsync(
        IReadOnlyList<ModelRule> fromConfig)
    {
        var current = state.State.Rules.ToDictionary(r => r.SourceModel, StringComparer.Ordinal);
        var wanted = fromConfig.DistinctBy(r => r.SourceModel, StringComparer.Ordinal).ToArray();
        var configured = wanted.Select(r => r.SourceModel).ToHashSet(StringComparer.Ordinal);
        var written = await Task.WhenAll(wanted.Select(async r => new RuleStamp(r.SourceModel, Owner.Config, await Rule(r.SourceModel).SetAsync(r with { Owner = Owner.Config }))));
        var others = state.State.Rules.Where(r => !configured.Contains(r.SourceModel)).ToArray();
        var kept = await Task.WhenAll(others.Select(async r =>
        {
            if (r.Owner == Owner.Config)
            {
                await Rule(r.SourceModel).SetAsync(null);
                return null;
            }

            var stored = await Rule(r.SourceModel).GetAsync();
            return stored.Rule is null ? null : r with { Version = stored.Version };
        }));

        var added = written.Count(r => !current.ContainsKey(r.SourceModel));
        var changed = written.Count(r => current.TryGetValue(r.SourceModel, out var old) && old != r);
        var taken = written.Where(r => current.GetValueOrDefault(r.SourceModel)?.Owner == Owner.Runtime).Select(r => r.SourceModel).ToArray();
        if (taken.Length > 0)
        {
            logger.LogInformation("Tenant {Tenant}: the config now owns the model rule(s) {Sources}, which were added at run time", TenantId, string.Join(", ", taken));
        }

        // Every rule that now decides differently (added, changed, dropped) for the prompt cache's background cleanup.
        var touched = new List<(string Source, ModelRule? Rule)>();
        for (var i = 0; i < wanted.Length; i++)
        {
            if (!current.TryGetValue(wanted[i].SourceModel, out var old) || old != written[i])
            {
                touched.Add((wanted[i].SourceModel, wanted[i]));
            }
        }

        foreach (var r in others)
        {
            if (r.Owner == Owner.Config)
            {
                touched.Add((r.SourceModel, null));
            }
        }

        return ([.. written, .. kept.OfType<RuleStamp>()], added, changed, others.Count(r => r.Owner == Owner.Config), touched);
    }

    /// <summary>The rule the index lists for this source; a grain the index does not list (a failed add) counts as none.</summary>
    private async Task<ModelRule?> CurrentRuleAsync(string sourceModel) =>
        state.State.Rules.Exists(r => r.SourceModel == sourceModel) ? (await Rule(sourceModel).GetAsync()).Rule : null;

    /// <summary>
    /// Writes a rule grain, then the index (a new stamp, or none once removed). If the index write fails, the grain is put
    /// back to <paramref name="previous"/> so both agree again; if that fails too, the next config apply reconciles the
    /// stamps with the grains (<see cref="ApplyConfigRulesAsync"/>), and until then frontends that read the grain see the
    /// change while the others do not.
    /// </summary>
    private async Task WriteRuleAsync(string sourceModel, ModelRule? next, ModelRule? previous)
    {
        var grain = Rule(sourceModel);
        var version = await grain.SetAsync(next);
        try
        {
            await SaveAsync(s =>
            {
                var index = s.Rules.FindIndex(r => r.SourceModel == sourceModel);
                if (next is null)
                {
                    if (index >= 0)
                    {
                        s.Rules.RemoveAt(index);
                    }
                }
                else if (index >= 0)
                {
                    s.Rules[index] = new RuleStamp(sourceModel, next.Owner, version);
                }
                else
                {
                    s.Rules.Add(new RuleStamp(sourceModel, next.Owner, version));
                }
            });
        }
        catch
        {
            try
            {
                await grain.SetAsync(previous);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Tenant {Tenant}: rule {Source} could not be put back after its index write failed; the next config apply reconciles it", TenantId, sourceModel);
            }

            throw;
        }
    }

    /// <summary>
    /// Makes a change and writes it. Memory never runs ahead of storage: readers that interleave (snapshots) keep
    /// seeing the stored state until the write succeeded, and a failed write is undone. When PostgreSQL could not be
    /// reached nothing was written, so the activation stays and keeps serving snapshots through the outage; after any
    /// other failure the write may have landed, so the activation is dropped and the next call reloads the truth. It
    /// never makes the tenant exist: only a config apply and a create do, so a change that races a delete cannot
    /// bring the tenant back outside the registry.
    /// </summary>
    private async Task SaveAsync(Action<TenantState> change)
    {
        _snapshot ??= BuildSnapshot();
        var before = Copy(state.State);
        change(state.State);
        state.State.Version++;
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            state.State = before;
            if (!StorageFailure.IsUnreachable(ex))
            {
                DeactivateOnIdle();
            }

            throw;
        }

        _snapshot = null;
    }

    /// <summary>
    /// Records a change a person made, last: after it was stored and pushed (never a change that did not happen, and a
    /// failed insert cannot leave a disabled key in rotation or report a change that happened as failed).
    /// </summary>
    private async Task AuditAsync(AuditEntry? entry)
    {
        if (entry is null)
        {
            return;
        }

        try
        {
            await auditLog.AppendAsync(TenantId, [entry]);
        }
        catch (Exception ex)
        {
            // The change stands; the entry (secrets already masked) goes to the log so it is not lost silently.
            logger.LogError(ex, "Tenant {Tenant}: audit entry not stored: {Time:o} {TokenId} {Channel} {Action}", TenantId, entry.Time, entry.TokenId, entry.Channel, entry.Action);
        }
    }

    private static TenantState Copy(TenantState s) => new()
    {
        Exists = s.Exists,
        Version = s.Version,
        Tokens = [.. s.Tokens],
        Keys = [.. s.Keys],
        ModelRules = [.. s.ModelRules],
        Rules = [.. s.Rules],
        Cache = s.Cache,
        AllowUnlisted = s.AllowUnlisted,
        ConfigFingerprint = s.ConfigFingerprint,
        Audit = [.. s.Audit],
        CacheGeneration = s.CacheGeneration,
        Budget = s.Budget,
        BudgetOwner = s.BudgetOwner,
        Owner = s.Owner,
    };

    /// <summary>
    /// The budget after a config apply: the YAML's wins and is config-owned; without one, a runtime budget stays and a
    /// config-owned one (the YAML dropped it) goes.
    /// </summary>
    private static (BudgetLimits? Budget, Owner Owner) ConfigBudget(TenantState s, BudgetLimits? fromConfig) =>
        fromConfig is { IsEmpty: false } ? (fromConfig, Owner.Config)
        : s.BudgetOwner == Owner.Runtime ? (s.Budget, Owner.Runtime)
        : (null, s.BudgetOwner);

    private string TenantId => this.GetPrimaryKeyString();

    private ITenantRegistryGrain Registry => GrainFactory.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry);

    private IBudgetGrain Budget(string? tokenId) => GrainFactory.GetGrain<IBudgetGrain>(GrainKeys.Budget(TenantId, tokenId));

    /// <summary>Cleanup after a change that already happened: a failure is logged, not thrown.</summary>
    private async Task TolerateAsync(Func<Task> work, string what)
    {
        try
        {
            await work();
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Tenant {Tenant}: could not clean up {What}", TenantId, what);
        }
    }

    private IApiKeyGrain ApiKey(ProviderKey key) => GrainFactory.GetGrain<IApiKeyGrain>(key.Fingerprint);

    private IModelRuleGrain Rule(string sourceModel) => GrainFactory.GetGrain<IModelRuleGrain>(GrainKeys.ModelRule(TenantId, sourceModel));

    private Task PushKeysAsync(IEnumerable<string> providers)
    {
        var tenantId = TenantId;
        var pushes = new List<Task>();
        foreach (var provider in providers)
        {
            var keys = state.State.Keys.Where(k => k.Provider == provider).ToArray();
            pushes.Add(GrainFactory.GetGrain<IRotationGrain>(GrainKeys.Rotation(tenantId, provider)).SetKeysAsync(keys));
        }

        return Task.WhenAll(pushes);
    }

    private TenantSnapshot BuildSnapshot()
    {
        var s = state.State;
        return new TenantSnapshot(
            this.GetPrimaryKeyString(),
            s.Version,
            s.Tokens.ToArray(),
            s.Keys.ToArray(),
            s.Rules.ToArray(),
            s.Cache,
            s.AllowUnlisted,
            s.ConfigFingerprint,
            s.Exists,
            s.CacheGeneration,
            s.Budget,
            s.Owner);
    }

    /// <summary>
    /// After rules changed: their old entries are unreachable already (the fingerprint is in the key); this frees their
    /// rows. Not awaited: the change is done whether or not the cleanup succeeds.
    /// </summary>
    private void ExpireRules(List<(string Source, ModelRule? Rule)> rules)
    {
        if (rules.Count == 0)
        {
            return;
        }

        var tenantId = TenantId;
        var expire = new (string Source, string? Fingerprint)[rules.Count];
        for (var i = 0; i < rules.Count; i++)
        {
            expire[i] = (rules[i].Source, rules[i].Rule is { } rule ? RuleFingerprint.Of(rule) : null);
        }

        InBackground(async () =>
        {
            foreach (var (source, fingerprint) in expire)
            {
                await cacheStore.ExpireRuleAsync(tenantId, source, fingerprint);
            }
        }, "cache rows of changed model rules");
    }

    /// <summary>Database cleanup off the grain's scheduler, so it never holds up the grain's next call.</summary>
    private void InBackground(Func<Task> work, string what)
    {
        var tenantId = TenantId;
        _ = Task.Run(async () =>
        {
            try
            {
                await work();
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Tenant {Tenant}: could not expire {What}; they stay unreachable and leave with their TTL", tenantId, what);
            }
        });
    }
}
