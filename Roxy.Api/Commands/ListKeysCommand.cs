using System.Globalization;
using System.Text;
using Roxy.Api.Proxy;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Commands;

public sealed class ListKeysCommand(RotationGrains rotations) : IRoxyCommand
{
    public string Name => "list keys";
    public string Syntax => "#roxy list keys";
    public string Summary => "Id, provider, mask, limits, state, use this minute and source of every key.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        var snapshot = await context.Tenant.GetSnapshotAsync();
        if (snapshot.Keys.Count == 0)
        {
            return CommandReply.Ok("This tenant has no provider keys yet. Add one with `#roxy add key <provider> <key>`.");
        }

        var usage = await KeyUsages.ForAsync(rotations, context.Identity.TenantId, snapshot.Keys);
        var now = context.Time.GetUtcNow();
        var text = new StringBuilder("| id | provider | key | rpm | tpm | cooldown | state | requests/min | tokens/min | source |\n|---|---|---|---:|---:|---:|---|---:|---:|---|\n");
        foreach (var key in snapshot.Keys.OrderBy(k => k.Provider, StringComparer.Ordinal).ThenBy(k => k.Id, StringComparer.Ordinal))
        {
            usage.TryGetValue(key.Id, out var use);
            text.Append(CultureInfo.InvariantCulture,
                $"| `{key.Id}` | {key.Provider} | `{key.Mask}` | {key.MaxRpm} | {key.MaxTpm} | {key.CooldownSec}s | {KeyUsages.State(key, use, now)} | {use?.RequestsInWindow ?? 0} | {use?.TokensInWindow ?? 0} | {Source(key)} |\n");
        }

        return CommandReply.Ok(text.ToString());
    }

    private static string Source(ProviderKey key) => key.Source switch
    {
        KeySource.Env => $"env `{key.SecretRef}`",
        KeySource.Config => $"config `{key.SecretRef}`",
        _ => "chat",
    };
}
