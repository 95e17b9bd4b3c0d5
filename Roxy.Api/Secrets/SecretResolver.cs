using System.Collections.Concurrent;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Secrets;

/// <summary>
/// Turns a key's reference into the secret, in the frontend only: environment variable names are looked up in
/// this process's environment, ciphertext is decrypted with the master key. Grains only ever hold references.
/// </summary>
public sealed class SecretResolver(IReadOnlyDictionary<string, string?> environment, SecretProtector protector)
{
    // Decrypting on every request costs more than the lookup; ciphertexts are unique, so they key the cache.
    private readonly ConcurrentDictionary<string, string> _decrypted = new(StringComparer.Ordinal);

    public string? Resolve(ProviderKey key, string tenantId)
    {
        switch (key.Source)
        {
            case KeySource.Env or KeySource.Config:
                return environment.TryGetValue(key.SecretRef, out var value) && !string.IsNullOrEmpty(value) ? value : null;
            default:
                if (_decrypted.TryGetValue(key.SecretRef, out var cached))
                {
                    return cached;
                }

                if (!protector.TryDecrypt(key.SecretRef, tenantId, key.Id, out var secret))
                {
                    return null;
                }

                if (_decrypted.Count > 10_000)
                {
                    _decrypted.Clear();
                }

                _decrypted[key.SecretRef] = secret;
                return secret;
        }
    }
}
