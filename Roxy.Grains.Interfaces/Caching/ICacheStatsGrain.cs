using Orleans.Concurrency;

namespace Roxy.Grains.Caching;

/// <summary>A tenant's cache counters (key: the tenant id), added to by every frontend and persisted in batches.</summary>
[Alias("roxy.ICacheStatsGrain")]
public interface ICacheStatsGrain : IGrainWithStringKey
{
    [Alias("Record"), OneWay]
    Task RecordAsync(CacheStatsDelta delta);

    /// <summary>The counters, with the entries and bytes stored under <paramref name="generation"/> that have not expired.</summary>
    [Alias("Get")]
    Task<CacheStats> GetAsync(long generation);

    /// <summary>Zeroes the counters and removes their row (the tenant was deleted).</summary>
    [Alias("Reset")]
    Task ResetAsync();
}
