using Roxy.Api.Secrets;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Commands;

public sealed class RemoveKeyCommand : IRoxyCommand
{
    public string Name => "remove key";
    public string Syntax => "#roxy remove key <provider> <key-or-id>";
    public string Summary => "Removes a key added at run time (config keys: remove them from the YAML, or disable them).";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        if (args.Positional.Count != 2)
        {
            return CommandReply.Error("Give the provider and the key or its id.", Syntax);
        }

        var provider = args.Positional[0].ToLowerInvariant();
        var given = args.Positional[1];
        var isId = given.StartsWith("k-", StringComparison.Ordinal) && given.Length == 12;
        var lookup = isId ? given : SecretFingerprint.OfKey(given);
        var snapshot = await context.Tenant.GetSnapshotAsync();
        var key = snapshot.Keys.FirstOrDefault(k => k.Id == lookup || k.Fingerprint == lookup);
        if (key is null || key.Provider != provider)
        {
            // Only a well-formed id is echoed; anything else may be a secret typed in the wrong place.
            return CommandReply.Error($"No such key {(isId ? $"`{given}` " : "")}for that provider in this tenant. `#roxy list keys` shows them.", Syntax);
        }

        var result = await context.Tenant.RemoveKeyAsync(key.Id, context.Audit($"remove key {provider} {key.Id} ({key.Mask})"));
        return result.Status switch
        {
            KeyChangeStatus.Done => CommandReply.Ok($"🗑️ Removed key `{key.Id}` ({key.Mask}) of **{provider}**."),
            KeyChangeStatus.ConfigOwned => CommandReply.Error($"Key `{key.Id}` comes from the configuration ({key.Source.ToString().ToLowerInvariant()}); remove it there, or take it out of rotation with `#roxy disable key {key.Id}`."),
            _ => CommandReply.Error($"Key `{key.Id}` was not found any more."),
        };
    }
}
