using System.Globalization;
using Roxy.Api.Administration;

namespace Roxy.Api.Commands;

public sealed class AddKeyCommand(KeyAdministration keys) : IRoxyCommand
{
    public string Name => "add key";
    public string Syntax => "#roxy add key <provider> <key> [rpm=N] [tpm=N] [cooldown=N]";
    public string Summary => "Adds a provider key (stored encrypted); answers with its id and mask.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        if (args.Positional.Count != 2)
        {
            return CommandReply.Error("Give the provider and the key.", Syntax);
        }

        if (args.OptionNames.FirstOrDefault(o => o is not ("rpm" or "tpm" or "cooldown")) is { } unknown)
        {
            return CommandReply.Error($"Unknown option `{unknown}`; use rpm, tpm or cooldown.", Syntax);
        }

        // Parsed here only as whole numbers; the minimums are the shared operation's, as for the admin API.
        if (!args.TryGetInt("rpm", -1, 0, out var rpm, out var error)
            || !args.TryGetInt("tpm", -1, 0, out var tpm, out error)
            || !args.TryGetInt("cooldown", -1, 0, out var cooldown, out error))
        {
            return CommandReply.Error(error!, Syntax);
        }

        var result = await keys.AddAsync(context.Actor, context.Identity.TenantId, args.Positional[0], args.Positional[1], Given(rpm), Given(tpm), Given(cooldown));
        var key = result.Key;
        return result.Status switch
        {
            KeyAddStatus.Added => CommandReply.Ok(
                $"✅ Added key `{key!.Id}` ({key.Mask}) for **{key.Provider}**: rpm={key.MaxRpm}, tpm={key.MaxTpm}, cooldown={key.CooldownSec}s. It is in rotation now."),
            // Not echoed: with the arguments swapped, the provider word is the key.
            KeyAddStatus.UnknownProvider => CommandReply.Error($"Unknown provider. Known: {string.Join(", ", keys.ProviderNames.Select(p => $"`{p}`"))}.", Syntax),
            KeyAddStatus.InvalidLimit => CommandReply.Error(
                string.Create(CultureInfo.InvariantCulture, $"`{result.Limit}` must be a whole number of at least {result.Minimum}, got `{result.Given}`."), Syntax),
            KeyAddStatus.NotAKey => CommandReply.Error("That does not look like an API key (too short).", Syntax),
            KeyAddStatus.NoMasterKey => CommandReply.Error(
                $"Roxy cannot store keys added at run time: {result.Problem} Keys are only ever stored encrypted, " +
                "so set ROXY_MASTER_KEY on every Roxy process and restart, or add the key through an environment variable instead."),
            KeyAddStatus.AlreadyPresent => CommandReply.Error($"This key is already configured as `{key!.Id}` ({key.Mask}) for {key.Provider}; a secret is one key with one set of limits."),
            KeyAddStatus.HeldByAnotherTenant => CommandReply.Error("This key is already used by another tenant. One provider quota can only have one limiter, so it cannot be added here."),
            KeyAddStatus.TenantNotFound => CommandReply.TenantGone,
            _ => CommandReply.Error("The key could not be added."),
        };

        static long? Given(int value) => value < 0 ? null : value;
    }
}
