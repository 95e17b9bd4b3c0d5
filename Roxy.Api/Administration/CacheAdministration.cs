using Roxy.Api.Caching;
using Roxy.Api.Pricing;
using Roxy.Api.Tenancy;
using Roxy.Grains;
using Roxy.Grains.Caching;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Administration;

/// <summary>A tenant's prompt cache: stats (SPEC §7) and clear, for <c>#roxy cache …</c> and <c>/admin/tenants/{tenant}/cache</c>.</summary>
public sealed class CacheAdministration(IGrainFactory grains, CacheStatsRecorder recorder, ModelPrices prices, TenantSnapshotCache tenants, TimeProvider time)
{
    public async Task<CacheReport> StatsAsync(string tenantId)
    {
        var snapshot = await Tenant(tenantId).GetSnapshotAsync();
        var stats = await Commands.CacheStatsCommand.ReadAsync(grains, recorder, tenantId, snapshot.CacheGeneration);
        var savings = stats.Savings
            .OrderByDescending(s => s.Hits).ThenBy(s => s.Model, StringComparer.Ordinal)
            .Select(s => new CacheSaving(s, prices.Find(s.Provider, s.Model)?.Cost(s.PromptTokens, s.CompletionTokens, s.CachedTokens)))
            .ToArray();
        return new CacheReport(snapshot.Cache, stats, savings);
    }

    /// <summary>
    /// Makes every entry of the tenant unreachable at once (the next generation); their rows are removed in the background.
    /// This frontend uses the new generation from the next request on, the others within a second. Null when the
    /// tenant does not exist (any more).
    /// </summary>
    public async Task<CacheClearResult?> ClearAsync(AdminActor actor, string tenantId)
    {
        var tenant = Tenant(tenantId);
        var before = await tenant.GetSnapshotAsync();
        // Counted before the clear: afterwards the background expiry races the count.
        var reachable = (await grains.GetGrain<ICacheStatsGrain>(GrainKeys.CacheStats(tenantId)).GetAsync(before.CacheGeneration)).Entries;
        if (await tenant.ClearCacheAsync(actor.Audit(time, "cache clear")) is not { } generation)
        {
            return null;
        }

        await tenants.ReloadAsync(tenantId);
        return new CacheClearResult(reachable, generation);
    }

    private ITenantGrain Tenant(string tenantId) => grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId));
}
