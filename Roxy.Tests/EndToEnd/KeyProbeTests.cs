using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Roxy.Grains;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// README, "Keys and rotation": keys the provider refused are probed in the background and come back by themselves,
/// but only when the provider really accepts them again. OpenAI answers <c>GET /models</c> for free, so it says
/// nothing about a quota. Roxy runs with <c>probe_interval_sec: 1</c> in front of a <see cref="HostileUpstream"/>
/// scripted per key.
/// </summary>
public sealed class KeyProbeTests(KeyProbeTests.Host host) : IClassFixture<KeyProbeTests.Host>
{
    private const string Hello = """{"model":"smart","messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task Quota_disabled_key_stays_disabled_while_only_models_answers_and_returns_when_a_completion_does()
    {
        const string tenantId = "quota";
        var secret = Host.SecretOf(tenantId);
        var tenant = host.Tenant(tenantId);

        var first = await host.Roxy.PostChatAsync(Host.TokenOf(tenantId), Hello);
        Assert.NotEqual(HttpStatusCode.OK, first.StatusCode);
        await Eventually.TrueAsync(async () => await KeyAsync(tenant) is { Enabled: false, DisabledReason: "quota" }, because: "the key is disabled for quota");
        var disabledAt = host.Seen(secret).Count;

        // Two probes after the refusal (the second one only comes if the first left the key disabled), or the key is back.
        await Eventually.TrueAsync(
            async () => host.Seen(secret).Count >= disabledAt + 2 || (await KeyAsync(tenant)).Enabled,
            TimeSpan.FromSeconds(30),
            "the prober probes the key");

        var probes = host.Seen(secret).Skip(disabledAt).ToArray();
        var key = await KeyAsync(tenant);
        Assert.False(key.Enabled, $"re-enabled although the quota is still exhausted; probes: {string.Join(", ", probes.Select(p => p.Method + " " + p.Path))}");
        Assert.Equal("quota", key.DisabledReason);
        Assert.All(probes, p => Assert.Equal("POST /v1/chat/completions", p.Method + " " + p.Path));

        // The probe is the smallest completion, to a model this tenant routes to that provider (not the embedding rule).
        using (var body = JsonDocument.Parse(probes[0].Body))
        {
            Assert.Equal("gpt-4.1-nano", body.RootElement.GetProperty("model").GetString());
            Assert.Equal(1, body.RootElement.GetProperty("max_tokens").GetInt32());
            Assert.Single(body.RootElement.GetProperty("messages").EnumerateArray());
            Assert.False(body.RootElement.TryGetProperty("stream", out var stream) && stream.GetBoolean());
        }

        // Topped up: the next probe's completion succeeds, and the key serves again.
        host.QuotaBack = true;
        await Eventually.TrueAsync(async () => (await KeyAsync(tenant)).Enabled, TimeSpan.FromSeconds(30), "the key comes back once a completion succeeds");
        Assert.Equal(HttpStatusCode.OK, (await host.Roxy.PostChatAsync(Host.TokenOf(tenantId), Hello)).StatusCode);
        Assert.DoesNotContain(host.Roxy.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Auth_disabled_key_is_probed_with_models_and_returns_when_accepted()
    {
        const string tenantId = "auth";
        var secret = Host.SecretOf(tenantId);
        var tenant = host.Tenant(tenantId);

        await host.Roxy.PostChatAsync(Host.TokenOf(tenantId), Hello);
        await Eventually.TrueAsync(async () => await KeyAsync(tenant) is { Enabled: false, DisabledReason: "auth" }, because: "the key is disabled for auth");
        var disabledAt = host.Seen(secret).Count;
        await Eventually.TrueAsync(() => Task.FromResult(host.Seen(secret).Count > disabledAt), TimeSpan.FromSeconds(30), "the prober probes the key");
        Assert.False((await KeyAsync(tenant)).Enabled);

        host.AuthBack = true;
        await Eventually.TrueAsync(async () => (await KeyAsync(tenant)).Enabled, TimeSpan.FromSeconds(30), "the key comes back once /models accepts it");
        Assert.All(host.Seen(secret).Skip(disabledAt), p => Assert.Equal("GET /v1/models", p.Method + " " + p.Path));
        Assert.DoesNotContain(host.Roxy.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
    }

    private static async Task<ProviderKey> KeyAsync(ITenantGrain tenant) => Assert.Single((await tenant.GetSnapshotAsync()).Keys);

    public sealed record Seen(string Method, string Path, string Body);

    /// <summary>
    /// One Roxy in front of one upstream. Tenant "quota": its key's completions are 429 <c>insufficient_quota</c>
    /// until <see cref="QuotaBack"/>, while <c>GET /models</c> is always 200 (as OpenAI's is). Tenant "auth": its key
    /// gets 401 everywhere until <see cref="AuthBack"/>.
    /// </summary>
    public sealed class Host : IAsyncLifetime
    {
        private readonly ConcurrentDictionary<string, ConcurrentQueue<Seen>> _seen = new(StringComparer.Ordinal);
        private HostileUpstream _upstream = null!;

        public RoxyTestHost Roxy { get; private set; } = null!;

        private volatile bool _quotaBack;
        private volatile bool _authBack;

        public bool QuotaBack { get => _quotaBack; set => _quotaBack = value; }

        public bool AuthBack { get => _authBack; set => _authBack = value; }

        public static string SecretOf(string tenant) => $"sk-probe-{tenant}-abcdefghijklmnop";

        public static string TokenOf(string tenant) => $"tok-probe-{tenant}-0123456789";

        public IReadOnlyList<Seen> Seen(string secret) => _seen.TryGetValue(secret, out var q) ? q.ToArray() : [];

        public ITenantGrain Tenant(string id) => Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(id));

        public async Task InitializeAsync()
        {
            _upstream = await HostileUpstream.StartAsync();
            _upstream.Answer(AnswerAsync);
            var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("probe");
            var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["ROXY_TOKEN"] = "probe-admin-token-0123456789",
                ["KEY_A"] = "sk-probe-default-aaaaaaaa1111",
            };
            foreach (var tenant in new[] { "quota", "auth" })
            {
                environment[$"P_{tenant.ToUpperInvariant()}_TOKEN"] = TokenOf(tenant);
                environment[$"P_{tenant.ToUpperInvariant()}_KEY"] = SecretOf(tenant);
            }

            Roxy = await RoxyTestHost.StartAsync($$"""
                listen_addr: ":8080"
                tokens:
                  - { token_env: ROXY_TOKEN, role: admin }
                api_keys:
                  - { key_env_var: KEY_A, provider: openai }
                providers:
                  openai: { base_url: "{{_upstream.BaseUrl}}" }
                rotation:
                  max_wait_ms: 0
                  probe_interval_sec: 1
                tenants:
                  - id: quota
                    tokens: [{ token_env: P_QUOTA_TOKEN, role: admin }]
                    api_keys: [{ key_env_var: P_QUOTA_KEY, provider: openai }]
                    model_rules:
                      - { source_model: embed, target_models: [text-embedding-3-small] }
                      - { source_model: smart, target_models: [gpt-4.1-nano] }
                  - id: auth
                    tokens: [{ token_env: P_AUTH_TOKEN, role: admin }]
                    api_keys: [{ key_env_var: P_AUTH_KEY, provider: openai }]
                    model_rules:
                      - { source_model: smart, target_models: [gpt-4.1-nano] }
                """, environment, postgres);
        }

        private async Task AnswerAsync(HttpContext ctx)
        {
            var key = ctx.Request.Headers.Authorization.ToString().Replace("Bearer ", "", StringComparison.Ordinal);
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            _seen.GetOrAdd(key, _ => new()).Enqueue(new Seen(ctx.Request.Method, ctx.Request.Path.Value ?? "", body));
            var models = ctx.Request.Path.Value?.EndsWith("/models", StringComparison.Ordinal) == true;

            if (key == SecretOf("auth") && !AuthBack)
            {
                await HostileUpstream.WriteErrorAsync(ctx, 401, "invalid_api_key", new Dictionary<string, string>());
            }
            else if (models)
            {
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync("""{"object":"list","data":[{"id":"gpt-4.1-nano","object":"model","created":1700000000,"owned_by":"system"}]}""");
            }
            else if (key == SecretOf("quota") && !QuotaBack)
            {
                ctx.Response.StatusCode = 429;
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync("""{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}""");
            }
            else
            {
                await HostileUpstream.WriteCompletionAsync(ctx, """{"prompt_tokens":8,"completion_tokens":1,"total_tokens":9}""");
            }
        }

        public async Task DisposeAsync()
        {
            await Roxy.DisposeAsync();
            await _upstream.DisposeAsync();
        }
    }
}
