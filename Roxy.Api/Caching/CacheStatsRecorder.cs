using System.Collections.Concurrent;
using Roxy.Grains.Caching;

namespace Roxy.Api.Caching;

/// <summary>
/// This frontend's cache hits and misses since its last report to each tenant's <see cref="ICacheStatsGrain"/>:
/// counted with interlocked adds on the request path, sent by <see cref="CacheStatsFlusher"/> about every second.
/// </summary>
public sealed class CacheStatsRecorder
{
    private readonly ConcurrentDictionary<string, TenantCounters> _tenants = new(StringComparer.Ordinal);

    public IEnumerable<string> Tenants => _tenants.Keys;

    /// <summary>A request served from the cache; its tokens are what the upstream call would have cost.</summary>
    public void Hit(string tenantId, string provider, string model, long promptTokens, long completionTokens, long cachedTokens = 0)
    {
        var tenant = _tenants.GetOrAdd(tenantId, static _ => new TenantCounters());
        Interlocked.Increment(ref tenant.Hits);
        var saved = tenant.Models.GetOrAdd((provider, model), static _ => new ModelCounters());
        Interlocked.Increment(ref saved.Hits);
        Interlocked.Add(ref saved.PromptTokens, promptTokens);
        Interlocked.Add(ref saved.CompletionTokens, completionTokens);
        Interlocked.Add(ref saved.CachedTokens, cachedTokens);
    }

    /// <summary>A request looked up and not found (it went upstream).</summary>
    public void Miss(string tenantId) => Interlocked.Increment(ref _tenants.GetOrAdd(tenantId, static _ => new TenantCounters()).Misses);

    /// <summary>What was counted for the tenant since the last <see cref="Take"/>, now zeroed; null when nothing was.</summary>
    public CacheStatsDelta? Take(string tenantId) => Read(tenantId, take: true);

    /// <summary>What <see cref="Take"/> would send, left in place: added to the grain's counters when a command reads them.</summary>
    public CacheStatsDelta? Pending(string tenantId) => Read(tenantId, take: false);

    /// <summary>A report that could not be sent goes back, to be sent with the next one.</summary>
    public void Return(string tenantId, CacheStatsDelta delta)
    {
        var tenant = _tenants.GetOrAdd(tenantId, static _ => new TenantCounters());
        Interlocked.Add(ref tenant.Hits, delta.Hits);
        Interlocked.Add(ref tenant.Misses, delta.Misses);
        foreach (var model in delta.Savings)
        {
            var saved = tenant.Models.GetOrAdd((model.Provider, model.Model), static _ => new ModelCounters());
            Interlocked.Add(ref saved.Hits, model.Hits);
            Interlocked.Add(ref saved.PromptTokens, model.PromptTokens);
            Interlocked.Add(ref saved.CompletionTokens, model.CompletionTokens);
            Interlocked.Add(ref saved.CachedTokens, model.CachedTokens);
        }
    }

    /// <summary>The grain's counters with what this frontend has not reported yet.</summary>
    public CacheStats AddPending(string tenantId, CacheStats stats)
    {
        if (Pending(tenantId) is not { } pending)
        {
            return stats;
        }

        var savings = stats.Savings.ToDictionary(s => (s.Provider, s.Model));
        foreach (var model in pending.Savings)
        {
            savings[(model.Provider, model.Model)] = savings.TryGetValue((model.Provider, model.Model), out var known)
                ? known with
                {
                    Hits = known.Hits + model.Hits,
                    PromptTokens = known.PromptTokens + model.PromptTokens,
                    CompletionTokens = known.CompletionTokens + model.CompletionTokens,
                    CachedTokens = known.CachedTokens + model.CachedTokens,
                }
                : model;
        }

        return stats with { Hits = stats.Hits + pending.Hits, Misses = stats.Misses + pending.Misses, Savings = [.. savings.Values] };
    }

    private CacheStatsDelta? Read(string tenantId, bool take)
    {
        if (!_tenants.TryGetValue(tenantId, out var tenant))
        {
            return null;
        }

        var hits = take ? Interlocked.Exchange(ref tenant.Hits, 0) : Volatile.Read(ref tenant.Hits);
        var misses = take ? Interlocked.Exchange(ref tenant.Misses, 0) : Volatile.Read(ref tenant.Misses);
        List<ModelSavings>? savings = null;
        foreach (var ((provider, model), saved) in tenant.Models)
        {
            var modelHits = take ? Interlocked.Exchange(ref saved.Hits, 0) : Volatile.Read(ref saved.Hits);
            var prompt = take ? Interlocked.Exchange(ref saved.PromptTokens, 0) : Volatile.Read(ref saved.PromptTokens);
            var completion = take ? Interlocked.Exchange(ref saved.CompletionTokens, 0) : Volatile.Read(ref saved.CompletionTokens);
            var cached = take ? Interlocked.Exchange(ref saved.CachedTokens, 0) : Volatile.Read(ref saved.CachedTokens);
            if (modelHits != 0 || prompt != 0 || completion != 0)
            {
                (savings ??= []).Add(new ModelSavings(provider, model, modelHits, prompt, completion, cached));
            }
        }

        return hits == 0 && misses == 0 && savings is null ? null : new CacheStatsDelta(hits, misses, savings ?? []);
    }

    private sealed class TenantCounters
    {
        public long Hits;
        public long Misses;
        public readonly ConcurrentDictionary<(string Provider, string Model), ModelCounters> Models = new();
    }

    private sealed class ModelCounters
    {
        public long Hits;
        public long PromptTokens;
        public long CompletionTokens;
        public long CachedTokens;
    }
}
