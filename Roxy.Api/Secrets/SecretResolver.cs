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
    // Keyed by tenant and key id too, so a ciphertext copied into another tenant's row still fails the AES-GCM check.
    private readonly ConcurrentDictionary<(string Tenant, string KeyId, string Ref), string> _decrypted = new();

    public string? Resolve(ProviderKey key, string tenantId)
    {
        switch (key.Source)
        {
            case KeySource.Env or KeySource.Config:
                // Start-up refused values with anything but white space around them; a secret file's newline goes here.
                return environment.TryGetValue(key.SecretRef, out var value) && !string.IsNullOrWhiteSpace(value) ? SecretText.Clean(value) : null;
            default:
                if (_decrypted.TryGetValue((tenantId, key.Id, key.SecretRef), out var cached))
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

                _decrypted[(tenantId, key.Id, key.SecretRef)] = secret;
                return secret;
        }
    }
}
