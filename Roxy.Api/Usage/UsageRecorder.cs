using System.Collections.Concurrent;
using Roxy.Api.Proxy;
using Roxy.Grains.Usage;

namespace Roxy.Api.Usage;

/// <summary>
/// Adds up each finished request's tokens, cost and savings in memory, per tenant and (UTC day, provider, model, key,
/// token); <see cref="UsageFlusher"/> sends the sums to each tenant's usage grain every second. No grain call per
/// request, and a lock only on the one row the request adds to (decimals cannot be added atomically), so requests of
/// different rows never wait on each other.
/// </summary>
public sealed class UsageRecorder(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<RowKey, Row>> _tenants = new(StringComparer.Ordinal);

    /// <summary>Tenants that recorded anything since this frontend started.</summary>
    public IEnumerable<string> Tenants => _tenants.Keys;

    /// <summary>
    /// Counts one answered request. A cache hit counts as a request and a hit with no key and no tokens (no provider
    /// processed any); what it would have cost is its saving.
    /// </summary>
    /// <param name="costUsd">What the request cost (zero for a cache hit).</param>
    /// <param name="savedUsd">What a cache hit would have cost upstream (zero otherwise).</param>
    public void Record(ProxyRequest request, decimal costUsd, decimal savedUsd)
    {
        if (request.Answered is not { } answered)
        {
            return;
        }

        var now = time.GetUtcNow();
        var hit = request.CacheResult == "hit";
        var key = new RowKey(DateOnly.FromDateTime(now.UtcDateTime), answered.Provider, answered.Model, hit ? "" : request.KeyId ?? "", request.Identity.TokenId);
        Add(request.Identity.TenantId, key, hit,
            hit ? 0 : request.PromptTokens, hit ? 0 : request.CompletionTokens, hit ? 0 : request.CachedTokens, costUsd, savedUsd, now);
    }

    /// <summary>Adds one request to one row; what <see cref="Record"/> does once it has the row's key.</summary>
    public void Add(string tenantId, RowKey key, bool cacheHit, long promptTokens, long completionTokens, long cachedTokens, decimal costUsd, decimal savedUsd, DateTimeOffset at) =>
        Accumulate(tenantId, key, 1, cacheHit ? 1 : 0, promptTokens, completionTokens, cachedTokens, costUsd, savedUsd, at);

    /// <summary>
    /// What was counted for the tenant since the last <see cref="Take"/>, now zeroed; empty when nothing was. Rows idle
    /// since the last take are removed, so memory holds only the rows in use.
    /// </summary>
    public List<UsageDelta> Take(string tenantId) => Read(tenantId, take: true);

    /// <summary>What <see cref="Take"/> would send, left in place: added to the grain's rows when a report reads them.</summary>
    public List<UsageDelta> Pending(string tenantId) => Read(tenantId, take: false);

    private List<UsageDelta> Read(string tenantId, bool take)
    {
        var taken = new List<UsageDelta>();
        if (!_tenants.TryGetValue(tenantId, out var rows))
        {
            return taken;
        }

        foreach (var (key, row) in rows)
        {
            lock (row.Gate)
            {
                if (row.Requests == 0)
                {
                    if (!take)
                    {
                        continue;
                    }

                    row.Retired = true;
                    rows.TryRemove(new KeyValuePair<RowKey, Row>(key, row));
                    continue;
                }

                taken.Add(new UsageDelta(key.Day, key.Provider, key.Model, key.KeyId, key.TokenId, row.Requests, row.CacheHits,
                    row.PromptTokens, row.CompletionTokens, row.CachedTokens, row.CostUsd, row.SavedUsd, row.LastAt));
                if (!take)
                {
                    continue;
                }

                row.Requests = row.CacheHits = row.PromptTokens = row.CompletionTokens = row.CachedTokens = 0;
                row.CostUsd = row.SavedUsd = 0;
            }
        }

        return taken;
    }

    /// <summary>A report that could not be sent goes back, to be sent with the next one.</summary>
    public void Return(string tenantId, IEnumerable<UsageDelta> deltas)
    {
        foreach (var delta in deltas)
        {
            Accumulate(tenantId, new RowKey(delta.Day, delta.Provider, delta.Model, delta.KeyId, delta.TokenId), delta.Requests, delta.CacheHits,
                delta.PromptTokens, delta.CompletionTokens, delta.CachedTokens, delta.CostUsd, delta.SavedUsd, delta.LastAt);
        }
    }

    private void Accumulate(
        string tenantId, RowKey key, long requests, long cacheHits, long promptTokens, long completionTokens, long cachedTokens,
        decimal costUsd, decimal savedUsd, DateTimeOffset at)
    {
        var rows = _tenants.GetOrAdd(tenantId, static _ => new ConcurrentDictionary<RowKey, Row>());
        while (true)
        {
            var row = rows.GetOrAdd(key, static _ => new Row());
            lock (row.Gate)
            {
                // A row found idle by a take was removed; this goes to its successor.
                if (row.Retired)
                {
                    continue;
                }

                row.Requests += requests;
                row.CacheHits += cacheHits;
                row.PromptTokens += promptTokens;
                row.CompletionTokens += completionTokens;
                row.CachedTokens += cachedTokens;
                row.CostUsd += costUsd;
                row.SavedUsd += savedUsd;
                if (at > row.LastAt)
                {
                    row.LastAt = at;
                }

                return;
            }
        }
    }

    /// <summary>A usage row's key: UTC day, provider, model, key id ("" for cache hits), token id.</summary>
    public readonly record struct RowKey(DateOnly Day, string Provider, string Model, string KeyId, string TokenId);

    private sealed class Row
    {
        public readonly Lock Gate = new();
        public bool Retired;
        public long Requests;
        public long CacheHits;
        public long PromptTokens;
        public long CompletionTokens;
        public long CachedTokens;
        public decimal CostUsd;
        public decimal SavedUsd;
        public DateTimeOffset LastAt;
    }
}
