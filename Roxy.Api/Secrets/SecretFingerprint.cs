using System.Security.Cryptography;
using System.Text;

namespace Roxy.Api.Secrets;

/// <summary>Stable, non-reversible identifiers of secrets, safe to store, log and compare.</summary>
public static class SecretFingerprint
{
    private static readonly byte[] KeyFingerprintKey = Encoding.UTF8.GetBytes("roxy/key-fingerprint/v1");

    /// <summary>Lowercase hex HMAC-SHA256 of the provider key with the fixed key "roxy/key-fingerprint/v1".</summary>
    public static string OfKey(string secret) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(KeyFingerprintKey, Encoding.UTF8.GetBytes(secret)));

    /// <summary>Lowercase hex SHA-256 of the tenant token.</summary>
    public static string OfToken(string token) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
