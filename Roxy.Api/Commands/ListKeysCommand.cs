using System.Globalization;
using System.Text;
using Roxy.Api.Administration;

namespace Roxy.Api.Commands;

public sealed class ListKeysCommand(KeyAdministration keys) : IRoxyCommand
{
    public string Name => "list keys";
    public string Syntax => "#roxy list keys";
    public string Summary => "Id, provider, mask, limits, state, use this minute and source of every key.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        var rows = await keys.ListAsync(context.Identity.TenantId);
        if (rows.Count == 0)
        {
            return CommandReply.Ok("This tenant has no provider keys yet. Add one with `#roxy add key <provider> <key>`.");
        }

        var text = new StringBuilder("| id | provider | key | rpm | tpm | cooldown | state | requests/min | tokens/min | source |\n|---|---|---|---:|---:|---:|---|---:|---:|---|\n");
        foreach (var row in rows)
        {
            var key = row.Key;
            text.Append(CultureInfo.InvariantCulture,
                $"| `{key.Id}` | {key.Provider} | `{key.Mask}` | {key.MaxRpm} | {key.MaxTpm} | {key.CooldownSec}s | {row.State} | {row.RequestsInWindow} | {row.TokensInWindow} | {Source(row)} |\n");
        }

        return CommandReply.Ok(text.ToString());
    }

    private static string Source(KeyRow row) => row.Variable is { } variable ? $"{row.Source} `{variable}`" : "runtime (chat or api)";
}
