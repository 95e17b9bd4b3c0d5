using Roxy.Api.Administration;

namespace Roxy.Api.Commands;

public sealed class EnableKeyCommand(KeyAdministration keys) : IRoxyCommand
{
    public string Name => "enable key";
    public string Syntax => "#roxy enable key <id>";
    public string Summary => "Takes a key back into rotation.";
    public bool AdminOnly => true;

    public Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args) => KeyState.SetAsync(keys, context, args, enabled: true, Syntax);
}

public sealed class DisableKeyCommand(KeyAdministration keys) : IRoxyCommand
{
    public string Name => "disable key";
    public string Syntax => "#roxy disable key <id>";
    public string Summary => "Takes a key out of rotation until it is enabled again.";
    public bool AdminOnly => true;

    public Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args) => KeyState.SetAsync(keys, context, args, enabled: false, Syntax);
}

internal static class KeyState
{
    public static async Task<CommandReply> SetAsync(KeyAdministration keys, CommandContext context, CommandArgs args, bool enabled, string syntax)
    {
        if (args.Positional.Count != 1)
        {
            return CommandReply.Error("Give the key's id (from `#roxy list keys`).", syntax);
        }

        var id = args.Positional[0];
        var result = await keys.SetEnabledAsync(context.Actor, context.Identity.TenantId, id, enabled);
        if (result.Status == KeyChangeOutcomeStatus.TenantNotFound)
        {
            return CommandReply.TenantGone;
        }

        if (result.Status != KeyChangeOutcomeStatus.Done)
        {
            // Short k- words are echoed; anything else may be a secret typed in the wrong place.
            var shown = id.StartsWith("k-", StringComparison.Ordinal) && id.Length <= 16 ? $" `{id}`" : "";
            return CommandReply.Error($"No key{shown} in this tenant. `#roxy list keys` shows the ids.", syntax);
        }

        return CommandReply.Ok(enabled ? $"✅ Key `{id}` is in rotation." : $"⏸️ Key `{id}` is out of rotation until `#roxy enable key {id}`.");
    }
}
