using System.Net;
using System.Text.Json.Nodes;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// One Roxy with the operator token set, in front of a fake OpenAI upstream, for <c>#roxy why</c> and
/// <c>GET /admin/requests/{id}</c>. Tenant alpha: an admin and a member token, two keys with a 30 s cooldown; tenant
/// beta: an admin token and one key; tenant gamma: an admin token and two keys with a 30 s cooldown, for the keys the
/// rotation passes over (one disabled, one cooling).
/// </summary>
public sealed class TraceFixture : IAsyncLifetime
{
    public const string Operator = "roxy-trace-operator-0123456789abcdef";
    public const string AlphaAdmin = "trace-alpha-admin-0123456789";
    public const string AlphaMember = "trace-alpha-member-0123456789";
    public const string BetaAdmin = "trace-beta-admin-0123456789";
    public const string AlphaKey1 = "sk-trace-alpha-key1-0123456789abcdef";
    public const string AlphaKey2 = "sk-trace-alpha-key2-0123456789abcdef";
    public const string BetaKey = "sk-trace-beta-key-0123456789abcdef";
    public const string GammaAdmin = "trace-gamma-admin-0123456789";
    public const string GammaKey1 = "sk-trace-gamma-key1-0123456789abcdef";
    public const string GammaKey2 = "sk-trace-gamma-key2-0123456789abcdef";

    public static readonly string[] Secrets = [Operator, AlphaAdmin, AlphaMember, BetaAdmin, AlphaKey1, AlphaKey2, BetaKey, GammaAdmin, GammaKey1, GammaKey2];

    /// <summary>Each config key's secret by the variable it comes from, as the key listing names it.</summary>
    public static readonly IReadOnlyDictionary<string, string> KeysByVariable = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ALPHA_KEY1"] = AlphaKey1,
        ["ALPHA_KEY2"] = AlphaKey2,
        ["BETA_KEY"] = BetaKey,
        ["GAMMA_KEY1"] = GammaKey1,
        ["GAMMA_KEY2"] = GammaKey2,
    };

    public FakeOpenAiServer Upstream { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("traces");
        var env = new Dictionary<string, string?>
        {
            ["ROXY_ADMIN_TOKEN"] = Operator,
            ["ALPHA_ADMIN"] = AlphaAdmin,
            ["ALPHA_MEMBER"] = AlphaMember,
            ["BETA_ADMIN"] = BetaAdmin,
            ["ALPHA_KEY1"] = AlphaKey1,
            ["ALPHA_KEY2"] = AlphaKey2,
            ["BETA_KEY"] = BetaKey,
            ["GAMMA_ADMIN"] = GammaAdmin,
            ["GAMMA_KEY1"] = GammaKey1,
            ["GAMMA_KEY2"] = GammaKey2,
        };
        var yaml = $$"""
            providers:
              openai: { base_url: "{{Upstream.BaseUrl}}" }
            cache: { enabled: false }
            tenants:
              - id: alpha
                tokens:
                  - { token_env: ALPHA_ADMIN, role: admin }
                  - { token_env: ALPHA_MEMBER, role: member }
                api_keys:
                  - { key_env_var: ALPHA_KEY1, provider: openai, max_rpm: 1000, max_tpm: 1000000, cooldown_sec: 30 }
                  - { key_env_var: ALPHA_KEY2, provider: openai, max_rpm: 1000, max_tpm: 1000000, cooldown_sec: 30 }
                model_rules:
                  - { source_model: smart, target_models: [openai:gpt-4o-mini] }
              - id: beta
                tokens: [{ token_env: BETA_ADMIN, role: admin }]
                api_keys: [{ key_env_var: BETA_KEY, provider: openai }]
              - id: gamma
                tokens: [{ token_env: GAMMA_ADMIN, role: admin }]
                api_keys:
                  - { key_env_var: GAMMA_KEY1, provider: openai, max_rpm: 1000, max_tpm: 1000000, cooldown_sec: 30 }
                  - { key_env_var: GAMMA_KEY2, provider: openai, max_rpm: 1000, max_tpm: 1000000, cooldown_sec: 30 }
            """;
        Roxy = await RoxyTestHost.StartAsync(yaml, env, postgres);
    }

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    public Task<(HttpStatusCode Status, JsonNode? Body)> CallAsync(HttpMethod method, string path, string? token) =>
        AdminFixture.CallAsync(Roxy, method, path, token);
}
