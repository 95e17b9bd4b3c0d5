using System.Globalization;
using Roxy.Grains;
using Roxy.Grains.Caching;

namespace Roxy.Api.Commands;

/// <remarks>
/// The new generation is used by this frontend from the next request on: <see cref="CommandHandler"/> reloads the
/// tenant's snapshot after every successful command; the other frontends poll it within a second.
/// </remarks>
public sealed class CacheClearCommand(IGrainFactory grains) : IRoxyCommand
{
    public string Name => "cache clear";
    public string Syntax => "#roxy cache clear";
    public string Summary => "Makes every prompt cache entry of the tenant unreachable at once; their rows are removed in the background.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        if (args.Positional.Count > 0 || args.OptionNames.Any())
        {
            return CommandReply.Error("This command takes no arguments.", Syntax);
        }

        var tenantId = context.Identity.TenantId;
        var before = await context.Tenant.GetSnapshotAsync();
        // Counted before the clear: afterwards the background expiry races the count.
        var reachable = (await grains.GetGrain<ICacheStatsGrain>(GrainKeys.CacheStats(tenantId)).GetAsync(before.CacheGeneration)).Entries;
        var generation = await context.Tenant.ClearCacheAsync(context.Audit("cache clear"));
        return CommandReply.Ok(string.Create(CultureInfo.InvariantCulture,
            $"🧹 Cache cleared: {reachable} entr{(reachable == 1 ? "y is" : "ies are")} no longer reachable (generation {generation}); their rows are removed in the background. Every Roxy frontend misses them within a second."));
    }
}
