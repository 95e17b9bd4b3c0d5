using System.Security.Cryptography;
using System.Text;
using Roxy.Api.Secrets;

namespace Roxy.Tests.Unit.Secrets;

public class SecretProtectorTests
{
    private const string Secret = "sk-proj-AbCdEfGhIjKlMnOp1234abcd";

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static SecretProtector With(string? current, string? previous = null) =>
        new(new Dictionary<string, string?>
        {
            ["ROXY_MASTER_KEY"] = current,
            ["ROXY_MASTER_KEY_PREVIOUS"] = previous,
        });

    [Fact]
    public void Round_trip()
    {
        var protector = With(NewKey());

        Assert.True(protector.CanEncrypt);
        Assert.Null(protector.ConfigurationProblem);
        var sealedValue = protector.Encrypt(Secret, "acme", "key-1");

        Assert.Matches("^rx1\\.[0-9a-f]{8}\\.[A-Za-z0-9_-]+$", sealedValue);
        Assert.True(protector.TryDecrypt(sealedValue, "acme", "key-1", out var secret));
        Assert.Equal(Secret, secret);
        Assert.False(protector.NeedsReencryption(sealedValue));
    }

    [Fact]
    public void Round_trip_of_non_ascii_and_empty_secrets()
    {
        var protector = With(NewKey());

        foreach (var value in new[] { "", "clé-secrète-🔑" })
        {
            Assert.True(protector.TryDecrypt(protector.Encrypt(value, "t", "k"), "t", "k", out var secret));
            Assert.Equal(value, secret);
        }
    }

    [Fact]
    public void Two_encryptions_differ_because_of_the_random_nonce()
    {
        var protector = With(NewKey());

        Assert.NotEqual(protector.Encrypt(Secret, "acme", "key-1"), protector.Encrypt(Secret, "acme", "key-1"));
    }

    [Theory]
    [InlineData("other", "key-1")]
    [InlineData("acme", "key-2")]
    [InlineData("acme/key-1", "")]
    public void Decrypt_with_another_tenant_or_key_id_fails(string tenantId, string keyId)
    {
        var protector = With(NewKey());
        var sealedValue = protector.Encrypt(Secret, "acme", "key-1");

        Assert.False(protector.TryDecrypt(sealedValue, tenantId, keyId, out var secret));
        Assert.Equal("", secret);
    }

    [Fact]
    public void Any_flipped_byte_fails()
    {
        var protector = With(NewKey());
        var sealedValue = protector.Encrypt(Secret, "acme", "key-1");
        var prefix = sealedValue[..13];
        var payload = System.Buffers.Text.Base64Url.DecodeFromChars(sealedValue.AsSpan(13));

        for (var i = 0; i < payload.Length; i++)
        {
            var tampered = (byte[])payload.Clone();
            tampered[i] ^= 0x01;
            var value = prefix + System.Buffers.Text.Base64Url.EncodeToString(tampered);
            Assert.False(protector.TryDecrypt(value, "acme", "key-1", out _), $"byte {i}");
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("rx1.")]
    [InlineData("rx1.0000000.abc")]
    [InlineData("rx2.00000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("rx1.00000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Malformed_or_unknown_values_fail_without_throwing(string value)
    {
        var protector = With(NewKey());

        Assert.False(protector.TryDecrypt(value, "acme", "key-1", out _));
        Assert.False(protector.NeedsReencryption(value));
    }

    [Fact]
    public void Truncated_payload_fails()
    {
        var protector = With(NewKey());
        var sealedValue = protector.Encrypt(Secret, "acme", "key-1");

        Assert.False(protector.TryDecrypt(sealedValue[..^4], "acme", "key-1", out _));
        Assert.False(protector.TryDecrypt(sealedValue[..20], "acme", "key-1", out _));
        Assert.False(protector.TryDecrypt(sealedValue + "!", "acme", "key-1", out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Without_a_master_key_encryption_is_off_and_the_problem_says_how_to_create_one(string? value)
    {
        var protector = With(value);

        Assert.False(protector.CanEncrypt);
        Assert.Contains("ROXY_MASTER_KEY is not set", protector.ConfigurationProblem);
        Assert.Contains("openssl rand -base64 32", protector.ConfigurationProblem);
        var ex = Assert.Throws<InvalidOperationException>(() => protector.Encrypt(Secret, "acme", "key-1"));
        Assert.Equal(protector.ConfigurationProblem, ex.Message);
    }

    [Fact]
    public void Missing_variable_is_the_same_as_empty()
    {
        var protector = new SecretProtector(new Dictionary<string, string?>());

        Assert.False(protector.CanEncrypt);
        Assert.Contains("not set", protector.ConfigurationProblem);
    }

    [Fact]
    public void Wrong_length_key_is_reported_without_the_key()
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var protector = With(key);

        Assert.False(protector.CanEncrypt);
        Assert.Contains("ROXY_MASTER_KEY must be base64 of 32 random bytes (got 16)", protector.ConfigurationProblem);
        Assert.DoesNotContain(key, protector.ConfigurationProblem);
        Assert.DoesNotContain(key, protector.ToString());
    }

    [Fact]
    public void Non_base64_key_is_reported_without_the_key()
    {
        const string key = "not-base64-at-all!";
        var protector = With(key);

        Assert.False(protector.CanEncrypt);
        Assert.Contains("not valid base64", protector.ConfigurationProblem);
        Assert.DoesNotContain(key, protector.ConfigurationProblem);
    }

    [Fact]
    public void Rotation_old_values_decrypt_under_previous_keys_and_need_reencryption()
    {
        var oldKey = NewKey();
        var newKey = NewKey();
        var sealedOld = With(oldKey).Encrypt(Secret, "acme", "key-1");

        var rotated = With(newKey, $"{NewKey()}, {oldKey}");

        Assert.True(rotated.CanEncrypt);
        Assert.Null(rotated.ConfigurationProblem);
        Assert.True(rotated.TryDecrypt(sealedOld, "acme", "key-1", out var secret));
        Assert.Equal(Secret, secret);
        Assert.True(rotated.NeedsReencryption(sealedOld));

        var resealed = rotated.Encrypt(secret, "acme", "key-1");
        Assert.False(rotated.NeedsReencryption(resealed));
        Assert.NotEqual(sealedOld.Split('.')[1], resealed.Split('.')[1]);

        // Once the old key is dropped from PREVIOUS, old values no longer decrypt.
        Assert.False(With(newKey).TryDecrypt(sealedOld, "acme", "key-1", out _));
        Assert.False(With(newKey).NeedsReencryption(sealedOld));
    }

    [Fact]
    public void Invalid_previous_key_is_reported_but_encryption_still_works()
    {
        var protector = With(NewKey(), "AAAA");

        Assert.True(protector.CanEncrypt);
        Assert.Contains("ROXY_MASTER_KEY_PREVIOUS entry 1 must be base64 of 32 random bytes (got 3)", protector.ConfigurationProblem);
    }

    [Fact]
    public void Ciphertext_contains_neither_the_plaintext_nor_its_base64()
    {
        var protector = With(NewKey());
        var sealedValue = protector.Encrypt(Secret, "acme", "key-1");
        var bytes = Encoding.UTF8.GetBytes(Secret);

        Assert.DoesNotContain(Secret, sealedValue);
        Assert.DoesNotContain(Convert.ToBase64String(bytes).TrimEnd('='), sealedValue);
        Assert.DoesNotContain(System.Buffers.Text.Base64Url.EncodeToString(bytes), sealedValue);
        Assert.DoesNotContain("AbCdEfGh", sealedValue);
    }
}
