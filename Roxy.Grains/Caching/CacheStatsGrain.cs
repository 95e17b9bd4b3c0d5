using Microsoft.Extensions.Logging;

namespace Roxy.Grains.Caching;

/// <summary>
/// A tenant's cache counters. Frontends report deltas about once a second; the counters are written at most every
/// <see cref="SavePeriod"/> when they changed, and on deactivation, so a busy tenant costs one small write per period.
/// </summary>
public sealed class CacheStatsGrain(
    [PersistentState("cachestats", RoxyStorage.Name)] IPersistentState<CacheStatsState> state,
    PromptCacheStore store,
    TimeProvider time,
    ILogger<CacheStatsGrain> logger) : Grain, ICacheStatsGrain
{
    public static readonly TimeSpan SavePeriod = TimeSpan.FromSeconds(3);

    private bool _dirty;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(static (grain, ct) => grain.SaveIfChangedAsync(ct), this,
            new GrainTimerCreationOptions(SavePeriod, SavePeriod) { KeepAlive = false });
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        SaveIfChangedAsync(cancellationToken);

    Task ICacheStatsGrain.RecordAsync(CacheStatsDelta delta)
    {
        var counters = state.State;
        counters.Hits += delta.Hits;
        counters.Misses += delta.Misses;
        foreach (var saving in delta.Savings)
        {
            Add(counters.Savings, saving);
        }

        _dirty |= delta.Hits != 0 || delta.Misses != 0 || delta.Savings.Count > 0;
        return Task.CompletedTask;
    }

    async Task<CacheStats> ICacheStatsGrain.GetAsync(long generation)
    {
        var tenantId = this.GetPrimaryKeyString();
        var (entries, bytes) = await store.CountAsync(tenantId, generation, time.GetUtcNow());
        var counters = state.State;
        return new CacheStats(entries, bytes, counters.Hits, counters.Misses, counters.Savings.ToArray());
    }

    async Task ICacheStatsGrain.ResetAsync()
    {
        await state.ClearStateAsync();
        state.State = new CacheStatsState();
        _dirty = false;
    }

    private static void Add(List<ModelSavings> savings, ModelSavings delta)
    {
        for (var i = 0; i < savings.Count; i++)
        {
            var s = savings[i];
            if (s.Provider == delta.Provider && s.Model == delta.Model)
            {
                savings[i] = s with
                {
                    Hits = s.Hits + delta.Hits,
                    PromptTokens = s.PromptTokens + delta.PromptTokens,
                    CompletionTokens = s.CompletionTokens + delta.CompletionTokens,
                    CachedTokens = s.CachedTokens + delta.CachedTokens,
                };
                return;
            }
        }

        savings.Add(delta);
    }

    private async Task SaveIfChangedAsync(CancellationToken cancellationToken)
    {
        if (!_dirty)
        {
            return;
        }

        _dirty = false;
        try
        {
            await state.WriteStateAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            // Counted in memory still; the next period tries again.
            _dirty = true;
            logger.LogWarning(ex, "Could not save the cache stats of tenant {Tenant}", this.GetPrimaryKeyString());
        }
    }
}
