using System.Globalization;
using System.Text;
using Roxy.Api.Providers;
using Roxy.Api.Secrets;

namespace Roxy.Api.Commands;

public sealed class TestKeyCommand(ProviderRegistry providers, SecretResolver secrets) : IRoxyCommand
{
    public string Name => "test key";
    public string Syntax => "#roxy test key <id>";
    public string Summary => "Sends a minimal authenticated request with the key; reports the result and the provider's rate-limit headers.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        if (args.Positional.Count != 1)
        {
            return CommandReply.Error("Give the key's id (from `#roxy list keys`).", Syntax);
        }

        var snapshot = await context.Tenant.GetSnapshotAsync();
        var key = snapshot.Keys.FirstOrDefault(k => k.Id == args.Positional[0]);
        if (key is null)
        {
            return CommandReply.Error("No such key in this tenant. `#roxy list keys` shows the ids.", Syntax);
        }

        var client = providers.Get(key.Provider);
        if (client is null)
        {
            return CommandReply.Error($"Provider `{key.Provider}` speaks a protocol this Roxy build cannot test yet.");
        }

        var secret = secrets.Resolve(key, context.Identity.TenantId);
        if (secret is null)
        {
            return CommandReply.Error($"This Roxy process cannot read key `{key.Id}`'s secret (environment variable unset, or ROXY_MASTER_KEY missing or different).");
        }

        var probe = await KeyProbe.SendAsync(client, secret, TimeSpan.FromSeconds(15));
        var text = new StringBuilder();
        text.Append(probe.Accepted ? "✅ " : "❌ ").Append(CultureInfo.InvariantCulture, $"**{key.Provider}** answered key `{key.Id}` ({key.Mask}) with ")
            .Append(probe.Status is { } status ? $"HTTP {status}" : probe.Failure).Append(CultureInfo.InvariantCulture, $" in {probe.Elapsed.TotalMilliseconds:F0} ms.");
        if (probe.RateLimitHeaders.Count > 0)
        {
            text.Append("\n\n| header | value |\n|---|---|\n");
            foreach (var (name, value) in probe.RateLimitHeaders)
            {
                text.Append(CultureInfo.InvariantCulture, $"| `{name}` | {value} |\n");
            }
        }

        return CommandReply.Ok(text.ToString());
    }
}
