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
/// Traffic through a running Roxy (OpenAI and Anthropic inbound, a stream, a cache hit) against the fake upstream, then
/// the usage route and <c>#roxy usage</c> against the usage each answer reported; the rows in PostgreSQL survive a restart.
/// </summary>
public sealed class UsageReportTests : IAsyncLifetime
{
    private const string Admin = "usage-admin-token-0123456789";
    private const string Member = "usage-member-token-0123456789";
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

    // Any model but a scenario's gets the fake's stock text, with usage from the request's size: no provider cache.
    private const string Model = "gpt-fake-usage";

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

    private static JsonElement Find(JsonElement report, string group, string id) =>
        report.GetProperty(group).EnumerateArray().Single(l => l.GetProperty("id").GetString() == id);

    [Fact]
    public async Task Usage_by_model_key_and_token_is_exact_in_the_route_and_the_command_and_survives_a_restart()
    {
        string keyId, adminId, memberId;
        Line a, m, all, one;
        await using (var roxy = await RoxyTestHost.StartAsync(Yaml, Env(), _postgres))
        {
            var snapshot = await roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("acme")).GetSnapshotAsync();
            keyId = Assert.Single(snapshot.Keys).Id;
            adminId = snapshot.Tokens.Single(t => t.Role == TenantRole.Admin).Id;
            memberId = snapshot.Tokens.Single(t => t.Role == TenantRole.Member).Id;

            // 1. OpenAI, not streamed, by the admin: a miss. Each answer's usage is what the fake reported for it.
            const string body = """{"model":"house","messages":[{"role":"user","content":"usage one"}]}""";
            var first = await roxy.PostChatAsync(Admin, body);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(keyId, Header(first, "x-roxy-key"));
            var usage = (await JsonAsync(first)).GetProperty("usage");
            one = new Line(usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64());

            // 2. The same again: a hit, charged nothing, saving what the first cost.
            var hit = await roxy.PostChatAsync(Admin, body);
            Assert.Equal("hit", Header(hit, "x-roxy-cache"));

            // 3. OpenAI SDK, streamed, by the member.
            ChatTokenUsage? streamed = null;
            await foreach (var update in roxy.Chat("house", Member).CompleteChatStreamingAsync([new UserChatMessage("usage two, streamed")]))
            {
                streamed ??= update.Usage;
            }

            var two = new Line(streamed!.InputTokenCount, streamed.OutputTokenCount);

            // 4. Anthropic Messages inbound, by the member, to the same OpenAI target.
            var messages = await roxy.SendAsync(HttpMethod.Post, "v1/messages", null,
                """{"model":"house","max_tokens":100,"messages":[{"role":"user","content":"usage three, through the Messages API"}]}""",
                r => r.Headers.Add("x-api-key", Member));
            Assert.Equal(HttpStatusCode.OK, messages.StatusCode);
            var anthropic = (await JsonAsync(messages)).GetProperty("usage");
            var three = new Line(anthropic.GetProperty("input_tokens").GetInt64(), anthropic.GetProperty("output_tokens").GetInt64());

            a = one;
            m = two + three;
            all = one + two + three;

            // Rows already sent to the grain are one-way messages and may land a moment after a read.
            JsonElement report = default;
            await Eventually.TrueAsync(async () =>
            {
                var route = await roxy.SendAsync(HttpMethod.Get, "admin/tenants/acme/usage", Admin);
                Assert.Equal(HttpStatusCode.OK, route.StatusCode);
                report = await JsonAsync(route);
                return report.GetProperty("total").GetProperty("requests").GetInt64() == 4;
            });
            Assert.Equal("day", report.GetProperty("period").GetString());
            AssertLine(report.GetProperty("total"), 4, 1, all.Prompt, all.Completion, 0, all.Cost, one.Cost);
            AssertLine(Find(report, "by_model", $"openai:{Model}"), 4, 1, all.Prompt, all.Completion, 0, all.Cost, one.Cost);
            AssertLine(Find(report, "by_key", keyId), 3, 0, all.Prompt, all.Completion, 0, all.Cost, 0);
            AssertLine(Find(report, "by_key", ""), 1, 1, 0, 0, 0, 0, one.Cost);
            AssertLine(Find(report, "by_token", adminId), 2, 1, a.Prompt, a.Completion, 0, a.Cost, one.Cost);
            AssertLine(Find(report, "by_token", memberId), 2, 0, m.Prompt, m.Completion, 0, m.Cost, 0);
            Assert.Empty(report.GetProperty("unpriced").EnumerateArray());

            ChatCompletion command = await roxy.Chat("anything", Admin).CompleteChatAsync([new UserChatMessage("#roxy usage")]);
            var text = command.Content[0].Text;
            Assert.Contains($"| **total** | 4 | 1 | {all.Prompt} | {all.Completion} | 0 | {UsageCommand.Usd(all.Cost)} | {UsageCommand.Usd(one.Cost)} |", text, StringComparison.Ordinal);
            Assert.Contains($"| `{keyId}` | 3 | 0 | {all.Prompt} | {all.Completion} | 0 | {UsageCommand.Usd(all.Cost)} | $0.0000 |", text, StringComparison.Ordinal);
            Assert.Contains($"| (prompt cache) | 1 | 1 | 0 | 0 | 0 | $0.0000 | {UsageCommand.Usd(one.Cost)} |", text, StringComparison.Ordinal);
            Assert.Contains($"| `{memberId}` | 2 | 0 | {m.Prompt} | {m.Completion} |", text, StringComparison.Ordinal);

            ChatCompletion status = await roxy.Chat("anything", Admin).CompleteChatAsync([new UserChatMessage("#roxy status")]);
            Assert.Contains($"Spend today: {UsageCommand.Usd(all.Cost)} (cache saved {UsageCommand.Usd(one.Cost)})", status.Content[0].Text, StringComparison.Ordinal);
            Assert.Contains("No price (costs $0): `openai:gpt-fake-echo`", status.Content[0].Text, StringComparison.Ordinal);
        }

        // Stopped: the rows are in PostgreSQL, and a new Roxy on the same database reads the same report.
        await Eventually.TrueAsync(async () => await StoredRequestsAsync() == 4);
        await using var again = await RoxyTestHost.StartAsync(Yaml, Env(), _postgres);
        var month = await JsonAsync(await again.SendAsync(HttpMethod.Get, "admin/tenants/acme/usage?period=month", Admin));
        Assert.Equal("month", month.GetProperty("period").GetString());
        AssertLine(month.GetProperty("total"), 4, 1, all.Prompt, all.Completion, 0, all.Cost, one.Cost);
        AssertLine(Find(month, "by_token", memberId), 2, 0, m.Prompt, m.Completion, 0, m.Cost, 0);
    }

    /// <summary>Tokens of one or more answers, and what they cost at the config's price for the model.</summary>
    private readonly record struct Line(long Prompt, long Completion)
    {
        public decimal Cost => (Prompt * 2m + Completion * 8m) / 1_000_000m;

        public static Line operator +(Line x, Line y) => new(x.Prompt + y.Prompt, x.Completion + y.Completion);
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
