using Roxy.Grains.Rotation;

namespace Roxy.Api.Administration;

/// <summary>
/// One key as <c>#roxy list keys</c> and <c>GET …/keys</c> show it: never the secret, only its mask.
/// <see cref="Source"/> is env, config or runtime (added by chat or the admin API); <see cref="Variable"/> names the
/// environment variable of an env or config key.
/// </summary>
public sealed record KeyRow(ProviderKey Key, string State, long RequestsInWindow, long TokensInWindow, string Source, string? Variable)
{
    public const string Runtime = "runtime";
}
