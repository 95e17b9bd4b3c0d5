using Roxy.Api.Configuration;
using Roxy.Api.Secrets;

namespace Roxy.Tests.Unit.Configuration;

public sealed class ConfigLoaderTests : IDisposable
{
    private const string OpenAiSecret = "sk-test-abcdef0123456789SECRET";
    private readonly string _directory = Directory.CreateTempSubdirectory("roxy-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Example_config_loads_with_only_ROXY_TOKEN_set()
    {
        var result = ConfigLoader.Load(ExampleConfigPath(), Env(("ROXY_TOKEN", "tok-admin")));

        Assert.Empty(result.Errors);
        var config = Assert.IsType<ResolvedConfig>(result.Config);
        var tenant = Assert.Single(config.Tenants);
        Assert.Equal("default", tenant.Id);
        Assert.Equal("admin", Assert.Single(tenant.Tokens).Role);
        Assert.Empty(tenant.Keys);
        var rule = Assert.Single(tenant.ModelRules);
        Assert.Equal([new ModelTarget(null, "gpt-4o"), new ModelTarget("anthropic", "claude-3-5-sonnet-latest")], rule.Targets);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Seed_format_with_top_level_keys_rules_and_providers_loads()
    {
        var path = Write("""
            listen_addr: ":8080"
            api_keys:
              - key_env_var: OPENAI_API_KEY_1
                provider: openai
                max_rpm: 3500
                max_tpm: 90000
                cooldown_sec: 60
            model_rules:
              - source_model: gpt-4
                target_models: [gpt-4, "anthropic:claude-3-5-sonnet-latest", "llama3:8b", "openrouter:anthropic/claude-3.5-sonnet"]
                selection_policy: fallback
            providers:
              openai:     { base_url: "https://api.openai.com/v1" }
              anthropic:  { base_url: "https://api.anthropic.com/v1" }
              openrouter: { base_url: "https://openrouter.ai/api/v1" }
              chutes:     { base_url: "https://llm.chutes.ai/v1" }
              groq:       { base_url: "https://api.groq.com/openai/v1", kind: openai }
            """);

        var result = ConfigLoader.Load(path, Env(("OPENAI_API_KEY_1", OpenAiSecret)));

        Assert.Empty(result.Errors);
        var config = result.Config!;
        Assert.Equal(["openai", "anthropic", "openrouter", "chutes", "groq"], config.Providers.Select(p => p.Name));
        Assert.Equal(ProviderKind.Anthropic, config.Providers[1].Kind);
        Assert.Equal(ProviderKind.OpenAi, config.Providers[4].Kind);
        Assert.Equal(TimeSpan.FromSeconds(10), config.Providers[4].ConnectTimeout);
        var key = Assert.Single(config.Tenants[0].Keys);
        Assert.Equal(("openai", 3500, 90000, "config"), (key.Provider, key.MaxRpm, key.MaxTpm, key.Source));
        Assert.Equal(SecretFingerprint.OfKey(OpenAiSecret), key.Fingerprint);
        Assert.Equal("k-" + key.Fingerprint[..10], key.Id);
        Assert.Equal(
            [new ModelTarget(null, "gpt-4"), new("anthropic", "claude-3-5-sonnet-latest"), new(null, "llama3:8b"), new("openrouter", "anthropic/claude-3.5-sonnet")],
            config.Tenants[0].ModelRules[0].Targets);
        Assert.Contains(result.Warnings, w => w.Contains("tenant 'default' has no tokens", StringComparison.Ordinal));
    }

    [Fact]
    public void Built_in_providers_exist_without_a_providers_section()
    {
        var result = ConfigLoader.Load(Write("listen_addr: \":9000\"\n"), Env());

        Assert.Equal(
            ["https://api.openai.com/v1", "https://api.anthropic.com/v1", "https://openrouter.ai/api/v1", "https://llm.chutes.ai/v1"],
            result.Config!.Providers.Select(p => p.BaseUrl.AbsoluteUri));
    }

    [Fact]
    public void Selection_policy_typo_reports_line_column_and_allowed_values()
    {
        var path = Write("""
            model_rules:
              - source_model: gpt-4
                target_models: [gpt-4]
                selection_policy: fallbak
            """);

        var result = ConfigLoader.Load(path, Env());

        Assert.Null(result.Config);
        Assert.Equal([$"{path}:4:23: model_rules[0].selection_policy: 'fallbak' is not one of random, roundrobin, fallback"], result.Errors);
    }

    [Fact]
    public void Model_names_that_cannot_go_in_a_header_are_refused_with_their_path()
    {
        var path = Write("""
            model_rules:
              - source_model: "smart model"
                target_models: ["gpt-4o\u00e9", gpt-4o]
            """);

        var result = ConfigLoader.Load(path, Env());

        Assert.Null(result.Config);
        Assert.Contains(result.Errors, e => e.Contains("model_rules[0].source_model: must be at most 256 printable ASCII characters", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("model_rules[0].target_models[0]: must be at most 256 printable ASCII characters", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Errors, e => e.Contains("target_models[1]", StringComparison.Ordinal));
    }

    [Fact]
    public void Embedding_rule_whose_targets_name_different_models_is_refused()
    {
        var path = Write("""
            model_rules:
              - source_model: vectors
                target_models: [openai:text-embedding-3-small, "openrouter:openai/text-embedding-3-small"]
              - source_model: vectors-mixed
                target_models: [text-embedding-3-small, openai:text-embedding-3-large]
              - source_model: my-embedder
                target_models: [nomic-v1, nomic-v2]
              - source_model: chat
                target_models: [gpt-4o, gpt-4o-mini]
            tenants:
              - id: acme
                model_rules:
                  - { source_model: embed, target_models: [mistral-embed, "openrouter:mistralai/mistral-embed", cohere-embed] }
            """);

        var errors = ConfigLoader.Load(path, Env()).Errors;

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains(
            "model_rules[1].target_models: an embedding rule (a model name contains 'embed') must name one model, got 'text-embedding-3-small', 'text-embedding-3-large'; "
            + "vectors of different embedding models cannot be compared, so its targets may differ only in provider", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("model_rules[2].target_models: an embedding rule", StringComparison.Ordinal) && e.Contains("'nomic-v1', 'nomic-v2'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("tenants[0].model_rules[0].target_models: an embedding rule", StringComparison.Ordinal) && e.Contains("'mistral-embed', 'cohere-embed'", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_nested_field_is_an_error_with_its_path_and_line()
    {
        var path = Write("""
            tenants:
              - id: acme
                cache:
                  enabled: true
                  ttl: 600
            """);

        var error = Assert.Single(ConfigLoader.Load(path, Env()).Errors);

        Assert.StartsWith($"{path}:5:7: tenants[0].cache.ttl: unknown field; allowed here: enabled, ttl_sec, mode", error);
    }

    [Fact]
    public void Wrong_scalar_type_names_the_path_and_the_value()
    {
        var path = Write("""
            tenants:
              - id: one
              - id: two
                api_keys:
                  - key_env_var: TWO_KEY
                    provider: openai
                    max_rpm: abc
            """);

        var error = Assert.Single(ConfigLoader.Load(path, Env(("TWO_KEY", "sk-two"))).Errors);

        Assert.StartsWith($"{path}:7:18: tenants[1].api_keys[0].max_rpm: must be a positive integer (1 to ", error);
        Assert.EndsWith("), got 'abc'", error);
    }

    [Fact]
    public void Out_of_range_number_is_an_error()
    {
        var path = Write("""
            server:
              max_body_bytes: 100
            """);

        var error = Assert.Single(ConfigLoader.Load(path, Env()).Errors);

        Assert.Equal($"{path}:2:19: server.max_body_bytes: must be an integer of at least 1024, got '100'", error);
    }

    [Fact]
    public void Probe_model_is_a_provider_setting_and_must_not_be_blank()
    {
        var good = ConfigLoader.Load(Write("providers:\n  openai: { probe_model: gpt-4o-mini }\n"), Env());
        var blank = ConfigLoader.Load(Write("providers:\n  openai: { probe_model: \" \" }\n"), Env());

        Assert.Equal("gpt-4o-mini", good.Config!.Providers.Single(p => p.Name == "openai").ProbeModel);
        Assert.Null(good.Config.Providers.Single(p => p.Name == "anthropic").ProbeModel);
        Assert.Contains("providers.openai.probe_model: must be a model name", Assert.Single(blank.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Unset_key_env_var_is_an_error_naming_the_variable()
    {
        var path = Write("""
            api_keys:
              - { key_env_var: OPENAI_API_KEY_1, provider: openai }
              - { key_env_var: OPENAI_API_KEY_2, provider: openai }
              - { key_env_var: OPENAI_API_KEY_3, provider: openai }
            """);

        var error = Assert.Single(ConfigLoader.Load(path, Env(("OPENAI_API_KEY_1", "sk-1"), ("OPENAI_API_KEY_2", "sk-2"))).Errors);

        Assert.Equal($"{path}:4:20: api_keys[2].key_env_var: environment variable OPENAI_API_KEY_3 is not set; set it to the provider key or remove this entry", error);
    }

    [Fact]
    public void Missing_required_field_points_at_its_entry()
    {
        var path = Write("""
            api_keys:
              - provider: openai
            """);

        var error = Assert.Single(ConfigLoader.Load(path, Env()).Errors);

        Assert.StartsWith($"{path}:2:5: api_keys[0].key_env_var: is required;", error);
    }

    [Fact]
    public void Duplicate_tenant_id_is_an_error()
    {
        var path = Write("""
            tenants:
              - id: acme
              - id: acme
            """);

        var error = Assert.Single(ConfigLoader.Load(path, Env()).Errors);

        Assert.Equal($"{path}:3:9: tenants[1].id: 'acme' is already the id of tenants[0]; tenant ids must be unique", error);
    }

    [Fact]
    public void Tenant_named_default_is_reserved()
    {
        var error = Assert.Single(ConfigLoader.Load(Write("tenants:\n  - id: default\n"), Env()).Errors);

        Assert.Contains("tenants[0].id: 'default' is reserved", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_listen_addr_is_an_error()
    {
        var path = Write("listen_addr: \"localhost\"\n");

        var error = Assert.Single(ConfigLoader.Load(path, Env()).Errors);

        Assert.StartsWith($"{path}:1:14: listen_addr: 'localhost' is not a listen address; expected host:port or :port", error);
    }

    [Fact]
    public void Unknown_provider_in_an_api_key_is_an_error()
    {
        var path = Write("""
            api_keys:
              - key_env_var: GROQ_KEY
                provider: groq
            """);

        var error = Assert.Single(ConfigLoader.Load(path, Env(("GROQ_KEY", "gsk-1"))).Errors);

        Assert.Equal($"{path}:3:15: api_keys[0].provider: 'groq' is not a known provider; known providers: openai, anthropic, openrouter, chutes (add others under providers:)", error);
    }

    [Fact]
    public void Misspelled_provider_prefix_in_a_target_is_an_error_but_other_colons_are_model_names()
    {
        var path = Write("""
            model_rules:
              - source_model: smart
                target_models: ["llama3:8b", "anthropc:claude-3-5-sonnet-latest"]
            """);

        var error = Assert.Single(ConfigLoader.Load(path, Env()).Errors);

        Assert.StartsWith($"{path}:3:34: model_rules[0].target_models[1]: 'anthropc' is not a known provider (did you mean 'anthropic'?)", error);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var path = Write("""
            listen_addr: "nope"
            colour: blue
            api_keys:
              - { key_env_var: MISSING_KEY, provider: openai, max_tpm: -5 }
            model_rules:
              - { source_model: a, target_models: [], selection_policy: first }
            cache: { mode: sometimes }
            cluster: { silo_port: 70000 }
            tenants:
              - id: Bad Id
            """);

        var errors = ConfigLoader.Load(path, Env()).Errors;

        Assert.True(errors.Count == 9, string.Join("\n", errors));
        Assert.All(errors, e => Assert.StartsWith(path + ":", e));
        Assert.Contains(errors, e => e.Contains("colour: unknown field", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("api_keys[0].max_tpm: must be a positive integer (1 to ", StringComparison.Ordinal) && e.EndsWith("got '-5'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("model_rules[0].target_models: must list at least one", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("cluster.silo_port: must be a port number 1-65535, got '70000'", StringComparison.Ordinal));
    }

    [Fact]
    public void Empty_file_is_one_clear_error()
    {
        var path = Write("# nothing here\n");

        var error = Assert.Single(ConfigLoader.Load(path, Env()).Errors);

        Assert.Equal($"{path}: config file is empty; expected a mapping of settings (see configs/config.example.yaml)", error);
    }

    [Fact]
    public void Missing_file_is_one_clear_error()
    {
        var path = Path.Combine(_directory, "absent.yaml");

        var error = Assert.Single(ConfigLoader.Load(path, Env()).Errors);

        Assert.StartsWith($"{path}: config file not found", error);
    }

    [Fact]
    public void Invalid_yaml_is_reported_with_its_position()
    {
        var path = Write("model_rules:\n  - source_model: [unclosed\n");

        var error = Assert.Single(ConfigLoader.Load(path, Env()).Errors);

        Assert.StartsWith(path + ":", error);
        Assert.Contains("invalid YAML", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_are_discovered_from_the_environment_for_the_default_tenant()
    {
        var result = ConfigLoader.Load(Write("listen_addr: \":8080\"\n"), Env(
            ("OPENAI_API_KEY_2", OpenAiSecret),
            ("ANTHROPIC_API_KEY", "sk-ant-1"),
            ("CHUTES_API_KEY_X", ""),
            ("OPENAI_API_KEYS", "not-a-match")));

        var keys = result.Config!.Tenants[0].Keys;

        Assert.Equal([("openai", "OPENAI_API_KEY_2"), ("anthropic", "ANTHROPIC_API_KEY")], keys.Select(k => (k.Provider, k.EnvVar)));
        Assert.All(keys, k => Assert.Equal((500, 200000, 60, "env"), (k.MaxRpm, k.MaxTpm, k.CooldownSec, k.Source)));
    }

    [Fact]
    public void A_secret_listed_and_discovered_is_one_key_with_the_listed_limits()
    {
        var path = Write("""
            api_keys:
              - { key_env_var: MY_OPENAI_KEY, provider: openai, max_rpm: 42 }
            """);

        var result = ConfigLoader.Load(path, Env(("MY_OPENAI_KEY", OpenAiSecret), ("OPENAI_API_KEY_2", OpenAiSecret)));

        var key = Assert.Single(result.Config!.Tenants[0].Keys);
        Assert.Equal(("MY_OPENAI_KEY", 42, "config"), (key.EnvVar, key.MaxRpm, key.Source));
    }

    [Fact]
    public void The_same_secret_in_two_tenants_is_refused_without_revealing_it()
    {
        var path = Write("""
            tenants:
              - id: acme
                tokens: [{ token_env: ACME_TOKEN, role: admin }]
                api_keys:
                  - { key_env_var: ACME_OPENAI_KEY, provider: openai }
            """);

        var result = ConfigLoader.Load(path, Env(("OPENAI_API_KEY_1", OpenAiSecret), ("ACME_OPENAI_KEY", OpenAiSecret), ("ACME_TOKEN", "acme-tok")));

        var error = Assert.Single(result.Errors);
        Assert.Equal(
            $"{path}:5:24: tenants[0].api_keys[0].key_env_var: ACME_OPENAI_KEY holds a key already used by tenant 'default' (env OPENAI_API_KEY_1); a provider key belongs to one tenant so its limits have one limiter",
            error);
        Assert.DoesNotContain(OpenAiSecret, error, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_token_in_two_tenants_is_refused()
    {
        var path = Write("""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            tenants:
              - id: acme
                tokens: [{ token_env: ACME_TOKEN }]
            """);

        var error = Assert.Single(ConfigLoader.Load(path, Env(("ROXY_TOKEN", "same-token"), ("ACME_TOKEN", "same-token"))).Errors);

        Assert.Contains("tenants[0].tokens[0].token_env: ACME_TOKEN holds the same token as tokens[0].token_env (ROXY_TOKEN) of tenant 'default'", error, StringComparison.Ordinal);
        Assert.DoesNotContain("same-token", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Tenants_inherit_top_level_cache_and_models_and_warn_without_tokens()
    {
        var path = Write("""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            cache: { ttl_sec: 77 }
            models: { allow_unlisted: false }
            tenants:
              - id: acme
              - id: beta
                tokens: [{ token_env: BETA_TOKEN }]
                cache: { ttl_sec: 600 }
            """);

        var result = ConfigLoader.Load(path, Env(("ROXY_TOKEN", "t1"), ("BETA_TOKEN", "t2")));

        var tenants = result.Config!.Tenants;
        Assert.Equal(["default", "acme", "beta"], tenants.Select(t => t.Id));
        Assert.Equal((77, false), (tenants[1].Cache.TtlSec, tenants[1].AllowUnlisted));
        Assert.Equal(600, tenants[2].Cache.TtlSec);
        Assert.Equal("member", tenants[2].Tokens[0].Role);
        Assert.Equal(SecretFingerprint.OfToken("t2"), tenants[2].Tokens[0].Hash);
        Assert.Equal("t-" + SecretFingerprint.OfToken("t2")[..10], tenants[2].Tokens[0].Id);
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("tenant 'acme' has no tokens and cannot be used", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Silo_port_comes_from_the_environment_and_bad_overrides_are_errors()
    {
        var path = Write("cluster: { silo_port: 11111, gateway_port: 30000 }\n");

        var overridden = ConfigLoader.Load(path, Env(("ROXY_SILO_PORT", "12000"), ("ROXY_CLUSTER_MODE", "cluster")));
        var bad = ConfigLoader.Load(path, Env(("ROXY_SILO_PORT", "30000"), ("ROXY_GATEWAY_PORT", "x")));

        Assert.Equal((12000, "cluster"), (overridden.Config!.Raw.Cluster.SiloPort, overridden.Config.Raw.Cluster.Mode));
        Assert.Equal(
            ["env ROXY_GATEWAY_PORT: cluster.gateway_port: must be a port number 1-65535, got 'x'",
             "env ROXY_SILO_PORT: cluster.silo_port: silo_port and gateway_port are both 30000; they must differ"],
            bad.Errors);
    }

    [Fact]
    public void Fingerprint_is_stable_across_loads_and_changes_when_a_limit_changes()
    {
        const string yaml = """
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            api_keys:
              - { key_env_var: OPENAI_API_KEY_1, provider: openai, max_rpm: 100 }
            """;
        var env = Env(("ROXY_TOKEN", "tok"), ("OPENAI_API_KEY_1", OpenAiSecret));

        var first = ConfigLoader.Load(Write(yaml), env).Config!.Fingerprint;
        var second = ConfigLoader.Load(Write(yaml), env).Config!.Fingerprint;
        var changed = ConfigLoader.Load(Write(yaml.Replace("max_rpm: 100", "max_rpm: 101", StringComparison.Ordinal)), env).Config!.Fingerprint;

        Assert.Equal(first, second);
        Assert.NotEqual(first, changed);
        Assert.Matches("^[0-9a-f]{64}$", first);
    }

    [Fact]
    public void Secret_fingerprints_are_hmac_for_keys_and_sha256_for_tokens()
    {
        Assert.Equal("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", SecretFingerprint.OfToken("hello"));
        Assert.Matches("^[0-9a-f]{64}$", SecretFingerprint.OfKey("hello"));
        Assert.NotEqual(SecretFingerprint.OfToken("hello"), SecretFingerprint.OfKey("hello"));
    }

    private string Write(string yaml)
    {
        var path = Path.Combine(_directory, $"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static Dictionary<string, string?> Env(params (string Name, string? Value)[] variables) =>
        variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);

    private static string ExampleConfigPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "configs", "config.example.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("configs/config.example.yaml not found above " + AppContext.BaseDirectory);
    }
}
