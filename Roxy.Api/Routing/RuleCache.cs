using System.Collections.Concurrent;
using Roxy.Grains;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Routing;

/// <summary>
/// This frontend's copy of its tenants' model rules. The tenant snapshot carries only the index (source, owner, version);
/// a rule is read from its grain the first time it is asked for and kept while the index gives it the same version. So a
/// warm request makes no grain call, and a model no rule names makes none at all: it is not in the index. When a newer
/// snapshot arrives, <see cref="SyncAsync"/> reads again the rules this frontend was using that changed, before the
/// snapshot is served, so a change never makes them cold.
/// </summary>
public sealed class RuleCache(IGrainFactory grains, ILogger<RuleCache> logger)
{
    private readonly ConcurrentDictionary<string, TenantRules> _tenants = new(StringComparer.Ordinal);

    /// <summary>
    /// True when memory decides: <paramref name="rule"/> is null when no rule names <paramref name="model"/>, else the
    /// current copy (whose own <see cref="CachedRule.Rule"/> is null when the grain holds none). False when the rule must
    /// be read first (<see cref="LoadAsync"/>).
    /// </summary>
    public bool TryGet(TenantSnapshot tenant, string model, out CachedRule? rule)
    {
        if (!IndexOf(tenant).Slots.TryGetValue(model, out var slot))
        {
            rule = null;
            return true;
        }

        rule = slot.Rule;
        return rule is not null;
    }

    /// <summary>The rule for <paramref name="model"/>, read from its grain unless current in memory; null when the index does not name it.</summary>
    public async Task<CachedRule?> LoadAsync(TenantSnapshot tenant, string model)
    {
        var index = IndexOf(tenant);
        if (!index.Slots.TryGetValue(model, out var slot))
        {
            return null;
        }

        return slot.Rule ?? await FillAsync(tenant.TenantId, slot);
    }

    /// <summary>Every rule of the tenant, in index order (a grain read for each not in memory).</summary>
    public async Task<IReadOnlyList<ModelRule>> GetAllAsync(TenantSnapshot tenant)
    {
        var index = IndexOf(tenant);
        var loaded = await Task.WhenAll(tenant.Rules.Select(stamp =>
        {
            var slot = index.Slots[stamp.SourceModel];
            return slot.Rule is { } cached ? Task.FromResult(cached) : FillAsync(tenant.TenantId, slot);
        }));
        return [.. loaded.Select(r => r.Rule).OfType<ModelRule>()];
    }

    /// <summary>Whether some rule names <paramref name="model"/> as a target; null when a rule is not in memory yet.</summary>
    public bool? IsListedTarget(TenantSnapshot tenant, string model)
    {
        foreach (var slot in IndexOf(tenant).Slots.Values)
        {
            if (slot.Rule is not { } cached)
            {
                return null;
            }

            if (cached.Rule is { } rule && Names(rule, model))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether <paramref name="rule"/> names <paramref name="model"/> as a target, bare or as <c>provider:model</c>.</summary>
    public static bool Names(ModelRule rule, string model)
    {
        foreach (var target in rule.Targets)
        {
            if (target.Model == model
                || (target.Provider is { } provider && model.Length == provider.Length + 1 + target.Model.Length
                    && model.StartsWith(provider, StringComparison.Ordinal) && model[provider.Length] == ':'
                    && model.EndsWith(target.Model, StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Called with a snapshot newer than the one served: the rules this frontend holds whose version changed are read
    /// again (in parallel) and the new index published. A read that fails leaves that rule to be read on demand.
    /// </summary>
    public async Task SyncAsync(TenantSnapshot tenant)
    {
        if (!_tenants.TryGetValue(tenant.TenantId, out var rules))
        {
            return; // nothing cached for this tenant: its rules are read when first asked for
        }

        var previous = rules.Index;
        if (tenant.Version <= previous.Version)
        {
            return;
        }

        var next = RuleIndex.Build(tenant, previous);
        var changed = next.Slots.Values
            .Where(s => s.Rule is null && previous.Slots.TryGetValue(s.Stamp.SourceModel, out var old) && old.Rule is not null)
            .ToArray();
        await Task.WhenAll(changed.Select(async slot =>
        {
            try
            {
                await FillAsync(tenant.TenantId, slot);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Could not read model rule {Source} of tenant {Tenant}; it is read again when next asked for", slot.Stamp.SourceModel, tenant.TenantId);
            }
        }));
        // A request with this snapshot may have published an index of its own meanwhile: it gets what was read.
        var published = rules.Publish(next);
        if (published != next)
        {
            foreach (var slot in changed)
            {
                if (slot.Rule is { } read && published.Slots.TryGetValue(slot.Stamp.SourceModel, out var current))
                {
                    current.Offer(read);
                }
            }
        }
    }

    /// <summary>The index for this snapshot: the published one, or a new one built (and published when newer).</summary>
    private RuleIndex IndexOf(TenantSnapshot tenant)
    {
        var rules = _tenants.GetOrAdd(tenant.TenantId, static _ => new TenantRules());
        var index = rules.Index;
        if (index.Version == tenant.Version)
        {
            return index;
        }

        // A request still holding an older snapshot gets an index of its own, built from what is cached, not published.
        var built = RuleIndex.Build(tenant, index);
        return tenant.Version > index.Version ? rules.Publish(built) : built;
    }

    /// <summary>Reads the slot's rule from its grain, once however many requests ask at the same time.</summary>
    private async Task<CachedRule> FillAsync(string tenantId, Slot slot)
    {
        var rule = await slot.ReadAsync(() => ReadAsync(tenantId, slot.Stamp.SourceModel));
        // A read that started before the index moved on may return the older rule: read again for this version.
        if (rule.Version < slot.Stamp.Version)
        {
            rule = await ReadAsync(tenantId, slot.Stamp.SourceModel);
            slot.Offer(rule);
        }

        return rule;
    }

    private async Task<CachedRule> ReadAsync(string tenantId, string source)
    {
        var stored = await grains.GetGrain<IModelRuleGrain>(GrainKeys.ModelRule(tenantId, source)).GetAsync();
        return new CachedRule(stored.Rule, stored.Version);
    }

    private sealed class TenantRules
    {
        private RuleIndex _index = RuleIndex.Empty;

        public RuleIndex Index => Volatile.Read(ref _index);

        /// <summary>Publishes <paramref name="next"/> unless a newer index already is; returns the one now published.</summary>
        public RuleIndex Publish(RuleIndex next)
        {
            while (true)
            {
                var current = Volatile.Read(ref _index);
                if (current.Version >= next.Version)
                {
                    return current.Version == next.Version ? current : next;
                }

                if (Interlocked.CompareExchange(ref _index, next, current) == current)
                {
                    return next;
                }
            }
        }
    }

    /// <summary>One snapshot's rule index, with a slot per rule for what this frontend has read of it.</summary>
    private sealed class RuleIndex(long version, Dictionary<string, Slot> slots)
    {
        public static readonly RuleIndex Empty = new(-1, new Dictionary<string, Slot>(StringComparer.Ordinal));

        public long Version { get; } = version;

        public Dictionary<string, Slot> Slots { get; } = slots;

        /// <summary>A slot per stamp, keeping each rule already read whose version is still current.</summary>
        public static RuleIndex Build(TenantSnapshot tenant, RuleIndex previous)
        {
            var slots = new Dictionary<string, Slot>(tenant.Rules.Count, StringComparer.Ordinal);
            foreach (var stamp in tenant.Rules)
            {
                var slot = new Slot(stamp);
                if (previous.Slots.TryGetValue(stamp.SourceModel, out var old) && old.Rule is { } cached)
                {
                    slot.Offer(cached);
                }

                slots[stamp.SourceModel] = slot;
            }

            return new RuleIndex(tenant.Version, slots);
        }
    }

    /// <summary>What this frontend holds of one rule of the index: nothing yet, or a copy of the version the stamp names.</summary>
    private sealed class Slot(RuleStamp stamp)
    {
        private CachedRule? _rule;
        private Task<CachedRule>? _reading;

        public RuleStamp Stamp { get; } = stamp;

        public CachedRule? Rule => Volatile.Read(ref _rule);

        /// <summary>Keeps <paramref name="rule"/> when it is the version the stamp names and newer than what is held.</summary>
        /// <remarks>
        /// Only that version: a newer one read while a change was being made may be one the tenant then undid (its index
        /// write failed), and a copy kept would route by it until the rule changed again. It serves the request that
        /// read it; the index names it within a refresh if it stands.
        /// </remarks>
        public void Offer(CachedRule rule)
        {
            while (rule.Version == Stamp.Version)
            {
                var held = Volatile.Read(ref _rule);
                if (held is not null && held.Version >= rule.Version)
                {
                    return;
                }

                if (Interlocked.CompareExchange(ref _rule, rule, held) == held)
                {
                    return;
                }
            }
        }

        /// <summary>Runs <paramref name="read"/> unless a read is already in flight, whose result is shared.</summary>
        public async Task<CachedRule> ReadAsync(Func<Task<CachedRule>> read)
        {
            var started = new TaskCompletionSource<CachedRule>(TaskCreationOptions.RunContinuationsAsynchronously);
            var reading = Interlocked.CompareExchange(ref _reading, started.Task, null);
            if (reading is not null)
            {
                return await reading;
            }

            try
            {
                var rule = await read();
                Offer(rule);
                started.SetResult(rule);
                return rule;
            }
            catch (Exception ex)
            {
                started.SetException(ex);
                _ = started.Task.Exception; // observed here; the callers that shared it get it thrown
                throw;
            }
            finally
            {
                Volatile.Write(ref _reading, null);
            }
        }
    }
}
