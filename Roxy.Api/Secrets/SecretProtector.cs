using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Roxy.Api.Secrets;

/// <summary>
/// Seals provider keys added at run time with AES-256-GCM under <c>ROXY_MASTER_KEY</c>, so the database only ever
/// holds ciphertext. Format: <c>rx1.{kid}.{base64url(nonce12 | ciphertext | tag16)}</c>, where <c>kid</c> is the
/// first 8 hex chars of SHA-256 over the master key (picks the key during rotation without trial decryption) and
/// the associated data <c>roxy/key/v1/{tenantId}/{keyId}</c> binds a ciphertext to its row, so a value copied to
/// another tenant or key id does not decrypt.
/// </summary>
/// <remarks>
/// Rotation: put the new key in <c>ROXY_MASTER_KEY</c> and the old one(s) in <c>ROXY_MASTER_KEY_PREVIOUS</c>
/// (comma-separated); old values still decrypt, <see cref="NeedsReencryption"/> tells which to re-seal.
/// </remarks>
public sealed class SecretProtector
{
    public const string MasterKeyVariable = "ROXY_MASTER_KEY";
    public const string PreviousKeysVariable = "ROXY_MASTER_KEY_PREVIOUS";

    private const string Version = "rx1";
    private const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int KidLength = 8;

    private readonly string? _currentKid;
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    public SecretProtector(IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);

        var current = environment.GetValueOrDefault(MasterKeyVariable);
        if (string.IsNullOrWhiteSpace(current))
        {
            ConfigurationProblem =
                $"{MasterKeyVariable} is not set; create one with `openssl rand -base64 32` and set it to store provider keys added at run time.";
        }
        else if (ParseKey(current, MasterKeyVariable, out var key, out var problem))
        {
            _currentKid = KidOf(key);
            _keys[_currentKid] = key;
        }
        else
        {
            ConfigurationProblem = problem;
        }

        var previous = environment.GetValueOrDefault(PreviousKeysVariable);
        if (!string.IsNullOrWhiteSpace(previous))
        {
            var index = 0;
            foreach (var entry in previous.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                index++;
                if (ParseKey(entry, $"{PreviousKeysVariable} entry {index}", out var key, out var problem))
                {
                    _keys.TryAdd(KidOf(key), key);
                }
                else
                {
                    // Reported but not fatal for encryption: values sealed under that key would fail to decrypt,
                    // which the operator should hear about at startup rather than per request.
                    ConfigurationProblem ??= problem;
                }
            }
        }
    }

    /// <summary>A valid current master key is configured.</summary>
    public bool CanEncrypt => _currentKid is not null;

    /// <summary>Why the configuration is unusable or incomplete; never contains key material.</summary>
    public string? ConfigurationProblem { get; }

    public string Encrypt(string secret, string tenantId, string keyId)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (_currentKid is null)
        {
            throw new InvalidOperationException(ConfigurationProblem);
        }

        var plaintext = Encoding.UTF8.GetBytes(secret);
        var sealedBytes = new byte[NonceSize + plaintext.Length + TagSize];
        try
        {
            var nonce = sealedBytes.AsSpan(0, NonceSize);
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(_keys[_currentKid], TagSize);
            aes.Encrypt(
                nonce,
                plaintext,
                sealedBytes.AsSpan(NonceSize, plaintext.Length),
                sealedBytes.AsSpan(NonceSize + plaintext.Length, TagSize),
                AssociatedData(tenantId, keyId));
            return $"{Version}.{_currentKid}.{Base64Url.EncodeToString(sealedBytes)}";
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// False when the value is malformed, sealed under an unknown master key, tampered with, or bound to another
    /// tenant or key id. Never throws for bad input, so callers need not expose crypto exceptions.
    /// </summary>
    public bool TryDecrypt(string protectedValue, string tenantId, string keyId, out string secret)
    {
        secret = "";
        if (!TryParse(protectedValue, out var kid, out var payload) || !_keys.TryGetValue(kid, out var key))
        {
            return false;
        }

        byte[] sealedBytes;
        try
        {
            sealedBytes = Base64Url.DecodeFromChars(payload);
        }
        catch (FormatException)
        {
            return false;
        }

        if (sealedBytes.Length < NonceSize + TagSize)
        {
            return false;
        }

        var plaintext = new byte[sealedBytes.Length - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(
                sealedBytes.AsSpan(0, NonceSize),
                sealedBytes.AsSpan(NonceSize, plaintext.Length),
                sealedBytes.AsSpan(NonceSize + plaintext.Length, TagSize),
                plaintext,
                AssociatedData(tenantId, keyId));
            secret = Encoding.UTF8.GetString(plaintext);
            return true;
        }
        catch (CryptographicException)
        {
            // Tag mismatch: tampered, wrong associated data, or a kid collision with a different key.
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// True when the value was sealed under a previous (still configured) master key and should be re-sealed
    /// under the current one. Values under unknown keys cannot be re-sealed, so they report false.
    /// </summary>
    public bool NeedsReencryption(string protectedValue) =>
        _currentKid is not null
        && TryParse(protectedValue, out var kid, out _)
        && kid != _currentKid
        && _keys.ContainsKey(kid);

    private static bool TryParse(string? value, out string kid, out ReadOnlySpan<char> payload)
    {
        kid = "";
        payload = default;
        if (value is null || !value.StartsWith(Version + ".", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = value.AsSpan(Version.Length + 1);
        if (rest.Length <= KidLength + 1 || rest[KidLength] != '.')
        {
            return false;
        }

        kid = rest[..KidLength].ToString();
        payload = rest[(KidLength + 1)..];
        return true;
    }

    private static bool ParseKey(string text, string source, out byte[] key, out string? problem)
    {
        key = [];
        var trimmed = text.Trim();
        var buffer = new byte[(trimmed.Length * 3 / 4) + 3];
        try
        {
            if (!Convert.TryFromBase64String(trimmed, buffer, out var length))
            {
                problem = $"{source} is not valid base64; create one with `openssl rand -base64 32`.";
                return false;
            }

            if (length != KeySize)
            {
                problem = $"{source} must be base64 of {KeySize} random bytes (got {length}); create one with `openssl rand -base64 32`.";
                return false;
            }

            key = buffer.AsSpan(0, KeySize).ToArray();
            problem = null;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer);
        }
    }

    private static string KidOf(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key))[..KidLength];

    private static byte[] AssociatedData(string tenantId, string keyId)
    {
        ArgumentNullException.ThrowIfNull(tenantId);
        ArgumentNullException.ThrowIfNull(keyId);
        return Encoding.UTF8.GetBytes($"roxy/key/v1/{tenantId}/{keyId}");
    }
}
