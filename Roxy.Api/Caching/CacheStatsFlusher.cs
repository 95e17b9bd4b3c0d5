using Roxy.Api.Hosting;
using Roxy.Grains;
using Roxy.Grains.Caching;

namespace Roxy.Api.Caching;

/// <summary>
/// Reports each tenant's cache hits and misses counted on this frontend to its <see cref="ICacheStatsGrain"/> about
/// every second, and what is left at shutdown: one one-way message per active tenant, never one per request.
/// </summary>
public sealed class CacheStatsFlusher(CacheStatsRecorder recorder, IGrainFactory grains, TimeProvider time, ILogger<CacheStatsFlusher> logger)
    : PeriodicFlusher(Interval, time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override Task FlushOnceAsync(bool final) => FlushAsync();

    public async Task FlushAsync()
    {
        foreach (var tenantId in recorder.Tenants)
        {
            if (recorder.Take(tenantId) is not { } delta)
            {
                continue;
            }

            try
            {
                await grains.GetGrain<ICacheStatsGrain>(GrainKeys.CacheStats(tenantId)).RecordAsync(delta);
            }
            catch (Exception ex)
            {
                recorder.Return(tenantId, delta);
                logger.LogWarning(ex, "Could not report cache stats of tenant {Tenant}; they go with the next report", tenantId);
            }
        }
    }
}
