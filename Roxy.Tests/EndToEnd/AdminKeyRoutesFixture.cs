using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// One Roxy with the operator token and a master key set, in front of a fake OpenAI upstream, for the key, rule, cache
/// and audit admin routes. Each test changes its own tenant: admin token "adm-{tenant}-…", member token "mem-{tenant}-…".
/// </summary>
public sealed class AdminKeyRoutesFixture : IAsyncLifetime
{
    public const string OperatorToken = "roxy-operator-token-0123456789";
    public const string ConfigKey = "sk-admin-config-key-000000000001";

    public static readonly string[] Tenants = ["callers", "other", "keys", "chatkeys", "conflict", "badkeys", "rules", "rulechat", "cached", "audit"];

    public FakeOpenAiServer Upstream { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;
    public string Postgres { get; private set; } = null!;
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    public static string Admin(string tenant) => $"adm-{tenant}-0123456789";

    public static string Member(string tenant) => $"mem-{tenant}-0123456789";

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        Postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("admin_keys");
        Environment["ROXY_ADMIN_TOKEN"] = OperatorToken;
        Environment["ROXY_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Environment["ROXY_TOKEN"] = "admin-default-token-0123456789";
        Environment["CONFLICT_CONFIG_KEY"] = ConfigKey;
        foreach (var tenant in Tenants)
        {
            Environment[Var(tenant, "ADMIN")] = Admin(tenant);
            Environment[Var(tenant, "MEMBER")] = Member(tenant);
        }

        Roxy = await StartHostAsync(Environment, Postgres);
    }

    public Task<RoxyTestHost> StartHostAsync(IReadOnlyDictionary<string, string?> environment, string postgres) => RoxyTestHost.StartAsync(Yaml(), environment, postgres);

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> CallAsync(HttpMethod method, string path, string? token, string? json = null, RoxyTestHost? host = null)
    {
        var response = await (host ?? Roxy).SendAsync(method, path, token, json);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public async Task<string> SayAsync(string token, string text)
    {
        ChatCompletion reply = await Roxy.Chat("anything", token).CompleteChatAsync([new UserChatMessage(text)]);
        Assert.Equal("roxy", reply.Model);
        return reply.Content[0].Text;
    }

    public Task<HttpResponseMessage> ChatAsync(string token, string model, string content = "hi") =>
        Roxy.PostChatAsync(token, JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content } } }));

    private static string Var(string tenant, string suffix) => $"T_{tenant.ToUpperInvariant()}_{suffix}";

    private string Yaml() => $$"""
        tokens:
          - { token_env: ROXY_TOKEN, role: admin }
        providers:
          openai: { base_url: "{{Upstream.BaseUrl}}" }
          openrouter: { base_url: "{{Upstream.BaseUrl}}", kind: openai }
        rotation: { max_wait_ms: 200 }
        # only the cached tenant is about the cache
        cache: { enabled: false }
        tenants:
        {{string.Concat(Tenants.Select(t => $"  - id: {t}\n    tokens: [{{ token_env: {Var(t, "ADMIN")}, role: admin }}, {{ token_env: {Var(t, "MEMBER")}, role: member }}]\n" + Extra(t)))}}
        """;

    private static string Extra(string tenant) => tenant switch
    {
        "conflict" => "    api_keys: [{ key_env_var: CONFLICT_CONFIG_KEY, provider: openai }]\n",
        "rules" => "    model_rules: [{ source_model: house, target_models: [openai:gpt-4o-mini] }]\n",
        "cached" => "    cache: { enabled: true, ttl_sec: 600 }\n",
        _ => "",
    };
}

[CollectionDefinition(Name)]
public sealed class AdminKeyRoutesGroup : ICollectionFixture<AdminKeyRoutesFixture>
{
    public const string Name = "admin key, rule, cache and audit routes";
}
