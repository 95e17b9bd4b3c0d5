using System.Globalization;
using System.Text;
using Roxy.Api.Administration;

namespace Roxy.Api.Commands;

public sealed class AuditCommand(AuditAdministration audit) : IRoxyCommand
{
    public string Name => "audit";
    public string Syntax => "#roxy audit [N]";
    public string Summary => $"The last N changes (default {AuditAdministration.DefaultCount}): time, token, channel (chat or api), command with secrets masked.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        var count = AuditAdministration.DefaultCount;
        if (args.Positional.Count > 1 || args.OptionNames.Any() || (args.Positional.Count == 1
            && !int.TryParse(args.Positional[0], NumberStyles.None, CultureInfo.InvariantCulture, out count)))
        {
            count = 0;
        }

        var entries = await audit.ReadAsync(context.Identity.TenantId, count);
        if (entries is null)
        {
            return CommandReply.Error($"N must be a number from 1 to {AuditAdministration.MaxCount}.", Syntax);
        }

        if (entries.Count == 0)
        {
            return CommandReply.Ok("No changes recorded yet.");
        }

        var text = new StringBuilder($"**Last {entries.Count} change(s)**, newest first\n\n| time (UTC) | token | channel | change |\n|---|---|---|---|\n");
        foreach (var e in entries)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {e.Time:yyyy-MM-dd HH:mm:ss} | `{e.TokenId}` | {e.Channel} | `{e.Action}` |\n");
        }

        return CommandReply.Ok(text.ToString());
    }
}
