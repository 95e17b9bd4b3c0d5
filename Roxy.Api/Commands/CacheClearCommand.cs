using System.Globalization;
using Roxy.Api.Administration;

namespace Roxy.Api.Commands;

public sealed class CacheClearCommand(CacheAdministration cache) : IRoxyCommand
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

        if (await cache.ClearAsync(context.Actor, context.Identity.TenantId) is not { } cleared)
        {
            return CommandReply.TenantGone;
        }

        var (reachable, generation) = cleared;
        return CommandReply.Ok(string.Create(CultureInfo.InvariantCulture,
            $"🧹 Cache cleared: {reachable} entr{(reachable == 1 ? "y is" : "ies are")} no longer reachable (generation {generation}); their rows are removed in the background. Every Roxy frontend misses them within a second."));
    }
}
