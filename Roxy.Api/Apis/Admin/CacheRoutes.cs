using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Administration;
using Roxy.Api.Errors;

namespace Roxy.Api.Apis.Admin;

/// <summary><c>/admin/tenants/{tenant}/cache</c>: the same operations as <c>#roxy cache stats</c> and <c>#roxy cache clear</c>.</summary>
public static class CacheRoutes
{
    public static RouteGroupBuilder MapCacheRoutes(this RouteGroupBuilder group)
    {
        group.MapGet("/cache", StatsAsync)
            .WithName("GetCacheStats")
            .WithSummary("The tenant's prompt cache stats, as #roxy cache stats.")
            .WithDescription("Settings, entries and bytes the current generation reaches, hits, misses, hit ratio, tokens and estimated cost saved per answering model.")
            .WithResponseExample(StatusCodes.Status200OK, CacheStatsView.Example)
            .ProducesAdminErrors(401, 403, 404);
        group.MapDelete("/cache", ClearAsync)
            .WithName("ClearCache")
            .WithSummary("Invalidates the tenant's prompt cache, as #roxy cache clear.")
            .WithDescription("Every entry becomes unreachable at once (every frontend misses them within a second, this one at once); their rows are removed in the background. " +
                "Answers how many entries were reachable and the new generation.")
            .WithResponseExample(StatusCodes.Status200OK, CacheCleared.Example)
            .ProducesAdminErrors(401, 403, 404);
        return group;
    }

    public static async Task<Ok<CacheStatsView>> StatsAsync(string tenant, CacheAdministration cache) =>
        TypedResults.Ok(CacheStatsView.From(await cache.StatsAsync(tenant)));

    public static async Task<Results<Ok<CacheCleared>, OpenAiErrorResult>> ClearAsync(string tenant, HttpContext http, CacheAdministration cache) =>
        await cache.ClearAsync(AdminCaller.From(http.User).Actor, tenant) is { } cleared
            ? TypedResults.Ok(new CacheCleared(cleared.Unreachable, cleared.Generation))
            : ErrorWriter.ToResult(AdminErrors.TenantNotFound(tenant));
}
