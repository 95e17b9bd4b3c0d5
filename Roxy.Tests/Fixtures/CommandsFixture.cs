using System.Security.Cryptography;
using Roxy.FakeUpstream;

namespace Roxy.Tests.Fixtures;

/// <summary>A Roxy host with a master key (so keys can be added at run time) and a fast key prober.</summary>
public sealed class CommandsFixture : IAsyncLifetime
{
    public const string AdminToken = "ops-admin-token-0123456789";
    public const string MemberToken = "ops-member-token-0123456789";
    public const string ConfigKey = "sk-ops-config-key-0000000000001";

    public FakeOpenAiServer Upstream { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;
    public string Postgres { get; private set; } = null!;
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Tenants for tests that change keys: admin token "adm-{tenant}", member token "mem-{tenant}".</summary>
    public static readonly string[] Tenants = ["keys", "strip", "roles", "persist", "probe", "remove", "audit", "testkey", "status", "modelroles", "mistakes", "listing"];

    public static string Admin(string tenant) => $"adm-{tenant}-0123456789";

    public static string Member(string tenant) => $"mem-{tenant}-0123456789";

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        Postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("commands");
        Environment["ROXY_TOKEN"] = AdminToken;
        Environment["ROXY_MEMBER_TOKEN"] = MemberToken;
        Environment["ROXY_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Environment["OPS_CONFIG_KEY"] = ConfigKey;
        foreach (var tenant in Tenants)
        {
            Environment[Var(tenant, "ADMIN")] = Admin(tenant);
            Environment[Var(tenant, "MEMBER")] = Member(tenant);
        }

        Roxy = await StartHostAsync();
    }

    public Task<RoxyTestHost> StartHostAsync() => RoxyTestHost.StartAsync(Yaml(), Environment, Postgres);

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    private static string Var(string tenant, string suffix) => $"T_{tenant.ToUpperInvariant()}_{suffix}";

    private string Yaml() => $$"""
        tokens:
          - { token_env: ROXY_TOKEN, role: admin }
          - { token_env: ROXY_MEMBER_TOKEN, role: member }
        api_keys:
          - { key_env_var: OPS_CONFIG_KEY, provider: openai }
        model_rules:
          - { source_model: house-model, target_models: [openai:gpt-4o-mini] }
        providers:
          openai: { base_url: "{{Upstream.BaseUrl}}" }
        rotation: { max_wait_ms: 200, probe_interval_sec: 1 }
        tenants:
        {{string.Concat(Tenants.Select(t => $"  - id: {t}\n    tokens: [{{ token_env: {Var(t, "ADMIN")}, role: admin }}, {{ token_env: {Var(t, "MEMBER")}, role: member }}]\n"))}}
        """;
}
