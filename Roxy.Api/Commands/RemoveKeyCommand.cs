using Roxy.Api.Administration;

namespace Roxy.Api.Commands;

public sealed class RemoveKeyCommand(KeyAdministration keys) : IRoxyCommand
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

        var (provider, given) = (args.Positional[0].ToLowerInvariant(), args.Positional[1]);
        var result = await keys.RemoveAsync(context.Actor, context.Identity.TenantId, provider, given);
        var key = result.Row?.Key;
        return result.Status switch
        {
            KeyChangeOutcomeStatus.Done => CommandReply.Ok($"🗑️ Removed key `{key!.Id}` ({key.Mask}) of **{provider}**."),
            KeyChangeOutcomeStatus.ConfigOwned => CommandReply.Error(
                $"Key `{key!.Id}` comes from the configuration ({result.Row!.Source}); remove it there, or take it out of rotation with `#roxy disable key {key.Id}`."),
            KeyChangeOutcomeStatus.TenantNotFound => CommandReply.TenantGone,
            // Only a well-formed id is echoed; anything else may be a secret typed in the wrong place.
            _ => CommandReply.Error($"No such key {(KeyAdministration.IsKeyId(given) ? $"`{given}` " : "")}for that provider in this tenant. `#roxy list keys` shows them.", Syntax),
        };
    }
}
