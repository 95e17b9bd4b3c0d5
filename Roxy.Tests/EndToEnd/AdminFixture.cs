using System.Net;
using System.Text.Json.Nodes;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// One Roxy with the operator token set, in front of a fake OpenAI upstream. Config tenants: alpha (an admin and a
/// member token, one key) and beta (an admin token). Tests create their own runtime tenants, each under its own id.
/// </summary>
public sealed class AdminFixture : IAsyncLifetime
{
    public const string Operator = "roxy-operator-token-0123456789abcdef";
    public const string AlphaAdmin = "alpha-admin-token-0123456789";
    public const string AlphaMember = "alpha-member-token-0123456789";
    public const string BetaAdmin = "beta-admin-token-0123456789";

    public FakeOpenAiServer Upstream { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;
    public string Postgres { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        Postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("admin");
        var env = new Dictionary<string, string?>
        {
            ["ROXY_ADMIN_TOKEN"] = Operator,
            ["ALPHA_ADMIN"] = AlphaAdmin,
            ["ALPHA_MEMBER"] = AlphaMember,
            ["BETA_ADMIN"] = BetaAdmin,
            ["ALPHA_KEY"] = "sk-alpha-key-0123456789abcdef",
            // Keys added by chat at run time are stored encrypted.
            ["ROXY_MASTER_KEY"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        };
        var yaml = $$"""
            providers:
              openai: { base_url: "{{Upstream.BaseUrl}}" }
            # the tenants created at run time keep the cache on (their own default); the config tenants do not need it
            cache: { enabled: false }
            tenants:
              - id: alpha
                tokens:
                  - { token_env: ALPHA_ADMIN, role: admin }
                  - { token_env: ALPHA_MEMBER, role: member }
                api_keys: [{ key_env_var: ALPHA_KEY, provider: openai }]
              - id: beta
                tokens: [{ token_env: BETA_ADMIN, role: admin }]
            """;
        Roxy = await RoxyTestHost.StartAsync(yaml, env, Postgres);
    }

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    /// <summary>Sends a request and reads the JSON answer (null for an empty body).</summary>
    public static async Task<(HttpStatusCode Status, JsonNode? Body)> CallAsync(RoxyTestHost roxy, HttpMethod method, string path, string? token, string? json = null)
    {
        using var response = await roxy.SendAsync(method, path, token, json);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public Task<(HttpStatusCode Status, JsonNode? Body)> CallAsync(HttpMethod method, string path, string? token, string? json = null) =>
        CallAsync(Roxy, method, path, token, json);

    /// <summary>Creates a runtime tenant and issues it an admin token; returns the token.</summary>
    public async Task<string> CreateTenantWithAdminAsync(string tenant)
    {
        var (created, _) = await CallAsync(HttpMethod.Post, "admin/tenants", Operator, $$"""{"id":"{{tenant}}"}""");
        Assert.Equal(HttpStatusCode.Created, created);
        var (issued, body) = await CallAsync(HttpMethod.Post, $"admin/tenants/{tenant}/tokens", Operator, """{"role":"admin","name":"first"}""");
        Assert.Equal(HttpStatusCode.Created, issued);
        return body!["token"]!.GetValue<string>();
    }

    /// <summary>Says a #roxy command (or anything) to the proxy and returns the answer's text.</summary>
    public async Task<string> SayAsync(string token, string text)
    {
        var (status, body) = await CallAsync(HttpMethod.Post, "v1/chat/completions", token,
            new JsonObject { ["model"] = "gpt-4o-mini", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }) }.ToJsonString());
        Assert.True(status == HttpStatusCode.OK, $"'{text}' answered {status}: {body}");
        return body!["choices"]![0]!["message"]!["content"]!.GetValue<string>();
    }
}
