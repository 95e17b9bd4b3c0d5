using Roxy.Grains.Rotation;

namespace Roxy.Api.Secrets;

/// <summary>
/// Turns a key's reference into the secret, in the frontend only: environment variable names are looked up in
/// this process's environment. The plaintext lives on the stack of one upstream call and goes nowhere else.
/// </summary>
public sealed class SecretResolver(IReadOnlyDictionary<string, string?> environment)
{
    public string? Resolve(ProviderKey key) => key.Source switch
    {
        KeySource.Env or KeySource.Config => environment.TryGetValue(key.SecretRef, out var value) && !string.IsNullOrEmpty(value) ? value : null,
        _ => null,
    };
}
