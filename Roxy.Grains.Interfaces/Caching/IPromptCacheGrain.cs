using Orleans.Concurrency;

namespace Roxy.Grains.Caching;

/// <summary>
/// One shard of a tenant's prompt cache (key <see cref="GrainKeys.PromptCache"/>): the silo's memory tier first, then
/// one indexed PostgreSQL read. It also makes concurrent identical misses one upstream call: the first caller leads,
/// the others wait for its answer. Reentrant: a lookup waiting on PostgreSQL or on a leader never holds up the rest.
/// </summary>
[Alias("roxy.IPromptCacheGrain")]
public interface IPromptCacheGrain : IGrainWithStringKey
{
    /// <summary>
    /// The entry if held and not expired. Otherwise the caller leads (<see cref="CacheLookupStatus.Lead"/>) unless
    /// another caller already does; then this waits up to <paramref name="singleFlightWait"/> for the leader's answer
    /// (a hit) and answers <see cref="CacheLookupStatus.Miss"/> when the leader abandons or the wait runs out. A lead
    /// that never reports lapses after the same time. <see cref="TimeSpan.Zero"/>: no single flight.
    /// </summary>
    [Alias("Lookup")]
    Task<CacheLookup> LookupAsync(CacheEntryKey key, TimeSpan singleFlightWait);

    /// <summary>Keeps a complete answer until <paramref name="expiresAt"/>; written to PostgreSQL in the background.</summary>
    [Alias("Store"), OneWay]
    Task StoreAsync(CacheEntryKey key, CachedCompletion entry, DateTimeOffset expiresAt);

    /// <summary>The leader got no storable answer: its waiters go upstream themselves.</summary>
    [Alias("Abandon"), OneWay]
    Task AbandonAsync(string keyHash);
}
