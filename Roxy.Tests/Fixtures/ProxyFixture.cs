using Roxy.FakeUpstream;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// One Roxy host in front of one fake OpenAI upstream, shared by a test class. Tenants keep tests that change key
/// state (cooldowns, disabled keys) apart: each such test uses its own tenant and keys.
/// </summary>
public sealed class ProxyFixture : IAsyncLifetime
{
    public const string AdminToken = "roxy-admin-token-0123456789";
    public const string MemberToken = "roxy-member-token-0123456789";
    public const string StrictToken = "roxy-strict-token-0123456789";

    public FakeOpenAiServer Upstream { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;
    public string Postgres { get; private set; } = null!;
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Tenants with two keys each, for tests that change key state; token = "tok-{tenant}".</summary>
    public static readonly string[] ScratchTenants = ["retry", "ratelimit", "auth", "stream-error", "timeout", "passthrough", "drop", "cancel", "waiting", "hostile-hints", "disconnect", "late"];

    public static string SecretOf(string tenant, int n) => $"sk-{tenant}-key{n}-abcdefghijklmnop";

    public static string TokenOf(string tenant) => $"tok-{tenant}-0123456789";

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        Postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("proxy");
        Environment["ROXY_TOKEN"] = AdminToken;
        Environment["ROXY_MEMBER_TOKEN"] = MemberToken;
        Environment["STRICT_TOKEN"] = StrictToken;
        Environment["KEY_A"] = "sk-test-aaaaaaaaaaaa1111";
        Environment["KEY_B"] = "sk-test-bbbbbbbbbbbb2222";
        Environment["KEY_C"] = "sk-test-cccccccccccc4444";
        Environment["STRICT_KEY"] = "sk-test-strictstrict3333";
        foreach (var tenant in ScratchTenants)
        {
            Environment[Var(tenant, "TOKEN")] = TokenOf(tenant);
            Environment[Var(tenant, "KEY1")] = SecretOf(tenant, 1);
            Environment[Var(tenant, "KEY2")] = SecretOf(tenant, 2);
        }

        Roxy = await RoxyTestHost.StartAsync(Yaml(Upstream.BaseUrl), Environment, Postgres);
    }

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    private static string Var(string tenant, string suffix) => $"T_{tenant.Replace('-', '_').ToUpperInvariant()}_{suffix}";

    private static string Yaml(Uri upstream)
    {
        var tenants = string.Concat(ScratchTenants.Select(t => $$"""
              - id: {{t}}
                tokens: [{ token_env: {{Var(t, "TOKEN")}}, role: admin }]
                api_keys:
                  - { key_env_var: {{Var(t, "KEY1")}}, provider: openai, max_rpm: 1000, max_tpm: 1000000, cooldown_sec: {{(t == "waiting" ? 1 : 30)}} }
                  - { key_env_var: {{Var(t, "KEY2")}}, provider: {{(t is "timeout" or "late" ? "slow" : "openai")}}, max_rpm: 1000, max_tpm: 1000000, cooldown_sec: 30 }
            """ + "\n"));
        return $$"""
            listen_addr: ":8080"
            tokens:
              - { token_env: ROXY_TOKEN, role: admin }
              - { token_env: ROXY_MEMBER_TOKEN, role: member }
            api_keys:
              - { key_env_var: KEY_A, provider: openai, max_rpm: 1000, max_tpm: 1000000 }
              - { key_env_var: KEY_B, provider: openai, max_rpm: 1000, max_tpm: 1000000 }
              - { key_env_var: KEY_C, provider: compat }
            model_rules:
              - source_model: smart
                target_models: [openai:gpt-4o-mini]
              - source_model: custom-model
                target_models: [compat:llama-3-70b]
              - source_model: long-context
                target_models: [openai:gpt-4o-mini, compat:gpt-4o-128k]
                failover_on_context_length: true
              - source_model: short-context
                target_models: [openai:gpt-4o-mini, compat:gpt-4o-128k]
            providers:
              openai: { base_url: "{{upstream}}" }
              compat: { base_url: "{{upstream}}", kind: openai }
              slow: { base_url: "{{upstream}}", kind: openai, first_token_timeout_sec: 0.5 }
            server:
              max_body_bytes: 65536
            rotation:
              max_wait_ms: 300
            # these tests measure the upstream path (calls, keys, rotation), not the prompt cache
            cache: { enabled: false }
            tenants:
              - id: strict
                tokens: [{ token_env: STRICT_TOKEN, role: member }]
                api_keys: [{ key_env_var: STRICT_KEY, provider: openai }]
                model_rules: [{ source_model: fast, target_models: [gpt-4o-mini] }]
                models: { allow_unlisted: false }
            {{tenants}}
            """;
    }
}
