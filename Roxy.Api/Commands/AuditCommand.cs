using System.Globalization;
using System.Text;

namespace Roxy.Api.Commands;

public sealed class AuditCommand : IRoxyCommand
{
    public string Name => "audit";
    public string Syntax => "#roxy audit [N]";
    public string Summary => "The last N changes (default 20): time, token, channel, command with secrets masked.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        var count = 20;
        if (args.Positional.Count > 1 || (args.Positional.Count == 1
            && (!int.TryParse(args.Positional[0], NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > 500)))
        {
            return CommandReply.Error("N must be a number from 1 to 500.", Syntax);
        }

        var entries = await context.Tenant.GetAuditAsync(count);
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
