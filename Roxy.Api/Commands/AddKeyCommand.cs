using Roxy.Api.Providers;
using Roxy.Api.Secrets;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Commands;

public sealed class AddKeyCommand(ProviderRegistry providers, SecretProtector protector) : IRoxyCommand
{
    public const int DefaultRpm = 500;
    public const int DefaultTpm = 200_000;
    public const int DefaultCooldown = 60;

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

        var provider = args.Positional[0].ToLowerInvariant();
        var secret = args.Positional[1];
        if (!providers.IsKnown(provider))
        {
            // Not echoed: with the arguments swapped, this word is the key.
            return CommandReply.Error($"Unknown provider. Known: {string.Join(", ", providers.All.Select(p => $"`{p.Name}`"))}.", Syntax);
        }

        if (args.OptionNames.FirstOrDefault(o => o is not ("rpm" or "tpm" or "cooldown")) is { } unknown)
        {
            return CommandReply.Error($"Unknown option `{unknown}`; use rpm, tpm or cooldown.", Syntax);
        }

        if (!args.TryGetInt("rpm", DefaultRpm, 1, out var rpm, out var error)
            || !args.TryGetInt("tpm", DefaultTpm, 1, out var tpm, out error)
            || !args.TryGetInt("cooldown", DefaultCooldown, 0, out var cooldown, out error))
        {
            return CommandReply.Error(error!, Syntax);
        }

        if (secret.Length < 8)
        {
            return CommandReply.Error("That does not look like an API key (too short).", Syntax);
        }

        if (!protector.CanEncrypt)
        {
            return CommandReply.Error(
                $"Roxy cannot store keys added at run time: {protector.ConfigurationProblem} Keys are only ever stored encrypted, " +
                "so set ROXY_MASTER_KEY on every Roxy process and restart, or add the key through an environment variable instead.");
        }

        var fingerprint = SecretFingerprint.OfKey(secret);
        var keyId = "k-" + fingerprint[..10];
        var mask = KeyMask.Of(secret);
        var key = new ProviderKey(
            keyId, provider, fingerprint, KeySource.Chat, protector.Encrypt(secret, context.Identity.TenantId, keyId), mask,
            rpm, tpm, cooldown, Owner.Runtime, Enabled: true, DisabledReason: null);
        var result = await context.Tenant.AddKeyAsync(key, context.Audit($"add key {provider} {mask} rpm={rpm} tpm={tpm} cooldown={cooldown}"));
        return result.Status switch
        {
            KeyChangeStatus.Done => CommandReply.Ok($"✅ Added key `{keyId}` ({mask}) for **{provider}**: rpm={rpm}, tpm={tpm}, cooldown={cooldown}s. It is in rotation now."),
            KeyChangeStatus.AlreadyPresent => CommandReply.Error($"This key is already configured as `{result.Key!.Id}` ({result.Key.Mask}) for {result.Key.Provider}; a secret is one key with one set of limits."),
            KeyChangeStatus.HeldByAnotherTenant => CommandReply.Error("This key is already used by another tenant. One provider quota can only have one limiter, so it cannot be added here."),
            _ => CommandReply.Error("The key could not be added."),
        };
    }
}
