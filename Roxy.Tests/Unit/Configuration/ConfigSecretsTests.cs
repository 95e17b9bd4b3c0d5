using Roxy.Api.Configuration;
using Roxy.Api.Secrets;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Configuration;

/// <summary>Secrets read from the environment as Docker and Kubernetes secret files hand them over, and secrets pasted in the wrong place.</summary>
public sealed class ConfigSecretsTests : IDisposable
{
    private const string Token = "tok-admin-0123456789abcdef";
    private const string ListedKey = "sk-listed-0123456789abcdef";
    private const string FoundKey = "sk-found-0123456789abcdef";
    private readonly string _directory = Directory.CreateTempSubdirectory("roxy-config-secrets-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Token_and_key_variables_ending_in_a_newline_are_trimmed()
    {
        var path = Write("""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            api_keys: [{ key_env_var: MY_KEY, provider: openai }]
            """);

        var result = ConfigLoader.Load(path, Env(("ROXY_TOKEN", Token + "\n"), ("MY_KEY", ListedKey + "\r\n"), ("OPENAI_API_KEY", "  " + FoundKey + "\n")));

        Assert.Empty(result.Errors);
        var tenant = result.Config!.Tenants[0];
        Assert.Equal(SecretFingerprint.OfToken(Token), Assert.Single(tenant.Tokens).Hash);
        Assert.Equal([SecretFingerprint.OfKey(ListedKey), SecretFingerprint.OfKey(FoundKey)], tenant.Keys.Select(k => k.Fingerprint));
    }

    [Fact]
    public void Control_characters_inside_a_secret_are_one_line_each_naming_the_variable()
    {
        var path = Write("""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            api_keys: [{ key_env_var: MY_KEY, provider: openai }]
            """);

        var errors = ConfigLoader.Load(path, Env(("ROXY_TOKEN", "tok-one\ntok-two"), ("MY_KEY", "sk-listed\t0123456789"), ("OPENAI_API_KEY", "sk-found\r\n0123456789"))).Errors;

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("tokens[0].token_env: environment variable ROXY_TOKEN holds a line break", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("api_keys[0].key_env_var: environment variable MY_KEY holds a line break", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("env OPENAI_API_KEY: environment variable OPENAI_API_KEY holds a line break", StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain("0123456789", e, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain("tok-", e, StringComparison.Ordinal));
    }

    [Fact]
    public void Resolver_hands_out_an_environment_key_without_its_trailing_newline()
    {
        var environment = Env(("MY_KEY", ListedKey + "\n"));
        var resolver = new SecretResolver(environment, new SecretProtector(environment));
        var key = new ProviderKey("k-1", "openai", "fp", KeySource.Config, "MY_KEY", "sk-…cdef", 10, 10, 0, Owner.Config, true, null);

        Assert.Equal(ListedKey, resolver.Resolve(key, "default"));
    }

    [Fact]
    public void A_token_pasted_into_token_env_is_not_echoed()
    {
        const string pasted = "d3adbeef0123456789abcdef01234567";
        var path = Write($$"""
            tokens: [{ token_env: {{pasted}}, role: admin }]
            api_keys: [{ key_env_var: Sk_Proj_AbC123dEf456GhI789, provider: openai }]
            """);

        var errors = ConfigLoader.Load(path, Env()).Errors;

        Assert.Equal(2, errors.Count);
        Assert.Contains("tokens[0].token_env: the value looks like the tenant token itself, not the name of an environment variable (32 characters, not shown)", errors[0], StringComparison.Ordinal);
        Assert.Contains("api_keys[0].key_env_var: the value looks like the provider key itself", errors[1], StringComparison.Ordinal);
        Assert.All(errors, e => Assert.DoesNotContain("0123456789", e, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain("AbC123", e, StringComparison.Ordinal));
    }

    [Fact]
    public void Variable_names_that_look_like_names_are_still_named()
    {
        var path = Write("""
            tenants:
              - id: acme
                tokens: [{ token_env: ACME_ADMIN_TOKEN_2, role: admin }]
                api_keys: [{ key_env_var: AzureOpenAiKey1, provider: openai }]
            """);

        var errors = ConfigLoader.Load(path, Env()).Errors;

        Assert.Contains(errors, e => e.Contains("environment variable ACME_ADMIN_TOKEN_2 is not set", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("environment variable AzureOpenAiKey1 is not set", StringComparison.Ordinal));
    }

    [Fact]
    public void A_secret_pasted_where_a_list_or_a_role_belongs_is_not_echoed()
    {
        const string pasted = "sk-proj-AbC123dEf456GhI789jKl0";
        var path = Write($$"""
            tokens: {{pasted}}
            tenants:
              - id: acme
                tokens: [{ token_env: ACME_TOKEN, role: {{pasted}} }]
            """);

        var errors = ConfigLoader.Load(path, Env(("ACME_TOKEN", Token))).Errors;

        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.DoesNotContain("AbC123", e, StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("tokens: must be a list, got a value of 30 characters that looks like a secret (not shown)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("role: a value of 30 characters that looks like a secret (not shown) is not one of admin, member", StringComparison.Ordinal));
    }

    [Fact]
    public void A_number_out_of_range_is_refused_with_the_allowed_range()
    {
        var path = Write("""
            api_keys:
              - { key_env_var: MY_KEY, provider: openai, cooldown_sec: 100000000000 }
            cluster: { silo_port: 70000 }
            """);

        var errors = ConfigLoader.Load(path, Env(("MY_KEY", ListedKey))).Errors;

        Assert.Contains(errors, e => e.EndsWith("api_keys[0].cooldown_sec: must be a non-negative integer (0 to 2147483647), got '100000000000'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.EndsWith("cluster.silo_port: must be a port number 1-65535, got '70000'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_huge_tpm_is_refused_with_the_allowed_range()
    {
        var path = Write("""
            api_keys:
              - { key_env_var: MY_KEY, provider: openai, max_tpm: 100000000000000000000000 }
            """);

        var error = Assert.Single(ConfigLoader.Load(path, Env(("MY_KEY", ListedKey))).Errors);

        Assert.Matches(@"api_keys\[0\]\.max_tpm: must be a positive integer \(1 to [0-9]+\), got '100000000000000000000000'$", error);
    }

    private string Write(string yaml)
    {
        var path = Path.Combine(_directory, $"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static Dictionary<string, string?> Env(params (string Name, string? Value)[] variables) =>
        variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
}
