using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenAI.Chat;
using Roxy.Api.Commands;
using Roxy.FakeUpstream;
using Roxy.Grains;
using Roxy.Grains.Tenancy;
using Roxy.Grains.Usage;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Traffic through a running Roxy (OpenAI and Anthropic inbound, a stream, a cache hit) against a fake whose usage is
/// fixed (1500 prompt tokens, 1280 of them cached), then the usage route and <c>#roxy usage</c>; the rows in PostgreSQL
/// survive a restart.
/// </summary>
public sealed class UsageReportTests : IAsyncLifetime
{
    private const string Admin = "usage-admin-token-0123456789";
    private const string Member = "usage-member-token-0123456789";
    private const long Prompt = 1500, Cached = 1280;
    private FakeOpenAiServer _upstream = null!;
    private string _postgres = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAiServer.StartAsync();
        _postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("usage");
    }

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private static Dictionary<string, string?> Env() => new(StringComparer.Ordinal)
    {
        ["ROXY_TOKEN"] = "usage-default-token-0123456789",
        ["ACME_ADMIN"] = Admin,
        ["ACME_MEMBER"] = Member,
        ["ACME_KEY"] = "sk-usage-acme-000000000001",
    };

    // The prompt cache is on: one of the requests is a hit.
    private string Yaml => $$"""
        tokens: [{ token_env: ROXY_TOKEN, role: admin }]
        providers:
          openai: { base_url: "{{_upstream.BaseUrl}}" }
        prices:
          "openai:{{Model}}": { input: 2, output: 8, cached_input: 0.5 }
        tenants:
          - id: acme
            tokens:
              - { token_env: ACME_ADMIN, role: admin }
              - { token_env: ACME_MEMBER, role: member }
            api_keys:
              - { key_env_var: ACME_KEY, provider: openai }
            model_rules:
              - { source_model: house, target_models: ["openai:{{Model}}"] }
              - { source_model: unpriced, target_models: ["openai:gpt-fake-echo"] }
        """;

    private static string Model => FakeOpenAiServer.ModelFor(OpenAiScenario.Cached);

    private static decimal Cost(long completion) => ((Prompt - Cached) * 2m + Cached * 0.5m + completion * 8m) / 1_000_000m;

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : "";

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static void AssertLine(JsonElement line, long requests, long hits, long prompt, long completion, long cached, decimal cost, decimal saved)
    {
        Assert.Equal(requests, line.GetProperty("requests").GetInt64());
        Assert.Equal(hits, line.GetProperty("cache_hits").GetInt64());
        Assert.Equal(prompt, line.GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(completion, line.GetProperty("completion_tokens").GetInt64());
        Assert.Equal(cached, line.GetProperty("cached_tokens").GetInt64());
        Assert.Equal(cost, line.GetProperty("cost_usd").GetDecimal());
        Assert.Equal(saved, line.GetProperty("saved_usd").GetDecimal());
    }

    private static JsonElement Line(JsonElement report, string group, string id) =>
        report.GetProperty(group).EnumerateArray().Single(l => l.GetProperty("id").GetString() == id);

    [Fact]
    public async Task Usage_by_model_key_and_token_is_exact_in_the_route_and_the_command_and_survives_a_restart()
    {
        long completion;
        string keyId, adminId, memberId;
        decimal each;
        await using (var roxy = await RoxyTestHost.StartAsync(Yaml, Env(), _postgres))
        {
            var snapshot = await roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("acme")).GetSnapshotAsync();
            keyId = Assert.Single(snapshot.Keys).Id;
            adminId = snapshot.Tokens.Single(t => t.Role == TenantRole.Admin).Id;
            memberId = snapshot.Tokens.Single(t => t.Role == TenantRole.Member).Id;

            // 1. OpenAI, not streamed, by the admin: a miss.
            const string body = """{"model":"house","messages":[{"role":"user","content":"usage one"}]}""";
            var first = await roxy.PostChatAsync(Admin, body);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(keyId, Header(first, "x-roxy-key"));
            var usage = (await JsonAsync(first)).GetProperty("usage");
            Assert.Equal(Prompt, usage.GetProperty("prompt_tokens").GetInt64());
            completion = usage.GetProperty("completion_tokens").GetInt64();
            each = Cost(completion);

            // 2. The same again: a hit, charged nothing, saving what the first cost.
            var hit = await roxy.PostChatAsync(Admin, body);
            Assert.Equal("hit", Header(hit, "x-roxy-cache"));

            // 3. OpenAI SDK, streamed, by the member.
            ChatTokenUsage? streamed = null;
            await foreach (var update in roxy.Chat("house", Member).CompleteChatStreamingAsync([new UserChatMessage("usage two")]))
            {
                streamed ??= update.Usage;
            }

            Assert.Equal(completion, streamed!.OutputTokenCount);

            // 4. Anthropic Messages inbound, by the member, to the same OpenAI target.
            var messages = await roxy.SendAsync(HttpMethod.Post, "v1/messages", null,
                """{"model":"house","max_tokens":100,"messages":[{"role":"user","content":"usage three"}]}""",
                r => r.Headers.Add("x-api-key", Member));
            Assert.Equal(HttpStatusCode.OK, messages.StatusCode);

            var route = await roxy.SendAsync(HttpMethod.Get, "admin/tenants/acme/usage", Admin);
            Assert.Equal(HttpStatusCode.OK, route.StatusCode);
            var report = await JsonAsync(route);
            Assert.Equal("day", report.GetProperty("period").GetString());
            AssertLine(report.GetProperty("total"), 4, 1, 3 * Prompt, 3 * completion, 3 * Cached, 3 * each, each);
            AssertLine(Line(report, "by_model", $"openai:{Model}"), 4, 1, 3 * Prompt, 3 * completion, 3 * Cached, 3 * each, each);
            AssertLine(Line(report, "by_key", keyId), 3, 0, 3 * Prompt, 3 * completion, 3 * Cached, 3 * each, 0);
            AssertLine(Line(report, "by_key", ""), 1, 1, 0, 0, 0, 0, each);
            AssertLine(Line(report, "by_token", adminId), 2, 1, Prompt, completion, Cached, each, each);
            AssertLine(Line(report, "by_token", memberId), 2, 0, 2 * Prompt, 2 * completion, 2 * Cached, 2 * each, 0);
            Assert.Empty(report.GetProperty("unpriced").EnumerateArray());

            ChatCompletion command = await roxy.Chat("anything", Admin).CompleteChatAsync([new UserChatMessage("#roxy usage")]);
            var text = command.Content[0].Text;
            Assert.Contains($"| **total** | 4 | 1 | {3 * Prompt} | {3 * completion} | {3 * Cached} | {UsageCommand.Usd(3 * each)} | {UsageCommand.Usd(each)} |", text, StringComparison.Ordinal);
            Assert.Contains($"| `{keyId}` | 3 | 0 | {3 * Prompt} | {3 * completion} | {3 * Cached} | {UsageCommand.Usd(3 * each)} | $0.0000 |", text, StringComparison.Ordinal);
            Assert.Contains($"| (prompt cache) | 1 | 1 | 0 | 0 | 0 | $0.0000 | {UsageCommand.Usd(each)} |", text, StringComparison.Ordinal);
            Assert.Contains($"| `{memberId}` | 2 | 0 |", text, StringComparison.Ordinal);

            ChatCompletion status = await roxy.Chat("anything", Admin).CompleteChatAsync([new UserChatMessage("#roxy status")]);
            Assert.Contains($"Spend today: {UsageCommand.Usd(3 * each)} (cache saved {UsageCommand.Usd(each)})", status.Content[0].Text, StringComparison.Ordinal);
            Assert.Contains("No price (costs $0): `openai:gpt-fake-echo`", status.Content[0].Text, StringComparison.Ordinal);
        }

        // Stopped: every row is in PostgreSQL, and a new Roxy on the same database reads the same report.
        Assert.Equal(4, await StoredRequestsAsync());
        await using var again = await RoxyTestHost.StartAsync(Yaml, Env(), _postgres);
        var month = await JsonAsync(await again.SendAsync(HttpMethod.Get, "admin/tenants/acme/usage?period=month", Admin));
        Assert.Equal("month", month.GetProperty("period").GetString());
        AssertLine(month.GetProperty("total"), 4, 1, 3 * Prompt, 3 * completion, 3 * Cached, 3 * each, each);
        AssertLine(Line(month, "by_token", memberId), 2, 0, 2 * Prompt, 2 * completion, 2 * Cached, 2 * each, 0);
    }

    [Fact]
    public async Task Fifty_requests_cost_far_fewer_than_fifty_writes()
    {
        await using var roxy = await RoxyTestHost.StartAsync(Yaml, Env(), _postgres);
        var store = roxy.App.Services.GetRequiredService<UsageStore>();
        var writes = store.Writes;
        for (var i = 0; i < 50; i++)
        {
            var response = await roxy.PostChatAsync(Member, $$"""{"model":"house","messages":[{"role":"user","content":"batch {{i}}"}]}""",
                r => r.Headers.Add("Cache-Control", "no-store"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Eventually.TrueAsync(async () => await StoredRequestsAsync() == 50, TimeSpan.FromSeconds(30));
        var upserts = store.Writes - writes;
        Assert.True(upserts is >= 1 and <= 10, $"{upserts} upserts for 50 requests");
    }

    [Fact]
    public async Task The_route_refuses_a_bad_period_and_a_member_and_the_command_a_bad_argument()
    {
        await using var roxy = await RoxyTestHost.StartAsync(Yaml, Env(), _postgres);

        var bad = await roxy.SendAsync(HttpMethod.Get, "admin/tenants/acme/usage?period=year", Admin);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var error = (await JsonAsync(bad)).GetProperty("error");
        Assert.Equal("period", error.GetProperty("param").GetString());
        Assert.Contains("`day` or `month`", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Forbidden, (await roxy.SendAsync(HttpMethod.Get, "admin/tenants/acme/usage", Member)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await roxy.SendAsync(HttpMethod.Get, "admin/tenants/acme/usage", null)).StatusCode);

        ChatCompletion reply = await roxy.Chat("anything", Admin).CompleteChatAsync([new UserChatMessage("#roxy usage yesterday")]);
        Assert.Contains("Unknown period `yesterday`", reply.Content[0].Text, StringComparison.Ordinal);
        Assert.Contains("Usage: `#roxy usage [today|month]`", reply.Content[0].Text, StringComparison.Ordinal);

        ChatCompletion refused = await roxy.Chat("anything", Member).CompleteChatAsync([new UserChatMessage("#roxy usage")]);
        Assert.DoesNotContain("**Usage**", refused.Content[0].Text, StringComparison.Ordinal);

        var document = await (await roxy.SendAsync(HttpMethod.Get, "openapi/v1.json", null)).Content.ReadAsStringAsync();
        Assert.Contains("GetTenantUsage", document, StringComparison.Ordinal);
        Assert.Contains("\"by_token\"", document, StringComparison.Ordinal);
    }

    private async Task<long> StoredRequestsAsync()
    {
        await using var connection = new NpgsqlConnection(_postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT coalesce(sum(requests), 0)::bigint FROM roxy_usage WHERE tenant_id = 'acme'", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
