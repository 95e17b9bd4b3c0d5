using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The cache lives in PostgreSQL (issue 10 items 1 and 6): entries survive a full restart of Roxy on the same database,
/// a rule changed in the YAML between the two makes its entries miss, and answers over <c>cache.max_entry_bytes</c>
/// are never stored. Each test starts its own Roxy on its own database.
/// </summary>
public sealed class PromptCachePersistenceTests : IAsyncLifetime
{
    private FakeOpenAiServer _upstream = null!;
    private FakeAnthropicServer _anthropic = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAiServer.StartAsync();
        _anthropic = await FakeAnthropicServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _anthropic.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private string Yaml(string movedTarget, string tenantCache = "cache: { enabled: true, ttl_sec: 3600 }") => $$"""
        tokens: [{ token_env: ROXY_TOKEN, role: admin }]
        api_keys:
          - { key_env_var: CACHE_OPENAI_KEY, provider: openai }
          - { key_env_var: CACHE_ANTHROPIC_KEY, provider: anthropic }
        model_rules:
          - { source_model: kept, target_models: ["openai:gpt-4o-mini"] }
          - { source_model: moved, target_models: ["{{movedTarget}}"] }
          - { source_model: claude-kept, target_models: ["anthropic:claude-sonnet-4-5"] }
        {{tenantCache}}
        providers:
          openai: { base_url: "{{_upstream.BaseUrl}}" }
          anthropic: { base_url: "{{_anthropic.BaseUrl}}" }
        """;

    private static async Task<(string? Cache, JsonNode Answer)> AskAsync(RoxyTestHost roxy, string model, string prompt)
    {
        var response = await roxy.PostChatAsync(CacheFixture.AdminToken, $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{prompt}}"}]}""");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return (response.Headers.TryGetValues("x-roxy-cache", out var values) ? values.Single() : null, JsonNode.Parse(body)!);
    }

    private int UpstreamCalls(string prompt) =>
        _upstream.Requests.Count(r => r.Body.Contains(prompt, StringComparison.Ordinal))
        + _anthropic.Requests.Count(r => r.Body.Contains(prompt, StringComparison.Ordinal));

    private static async Task<long> RowsAsync(string postgres)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM roxy_prompt_cache", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Entries_survive_a_full_restart_and_a_rule_changed_in_the_yaml_misses()
    {
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("cache_restart");
        var kept = CacheFixture.Marker("restart-kept");
        var moved = CacheFixture.Marker("restart-moved");
        var messages = CacheFixture.Marker("restart-messages");
        var messagesBody = $$"""{"model":"claude-kept","max_tokens":64,"messages":[{"role":"user","content":"{{messages}}"}]}""";
        var environment = CacheFixture.Environment();
        string keptText;
        await using (var first = await RoxyTestHost.StartAsync(Yaml("openai:gpt-4o-mini"), environment, postgres))
        {
            var (cache, answer) = await AskAsync(first, "kept", kept);
            Assert.Equal("miss", cache);
            keptText = answer["choices"]![0]!["message"]!["content"]!.GetValue<string>();
            Assert.Equal("miss", (await AskAsync(first, "moved", moved)).Cache);
            var anthropic = await first.SendAsync(HttpMethod.Post, "v1/messages", null, messagesBody, r =>
            {
                r.Headers.TryAddWithoutValidation("x-api-key", CacheFixture.AdminToken);
                r.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
            });
            Assert.Equal(HttpStatusCode.OK, anthropic.StatusCode);

            // Written in the background: the rows are there before the process goes.
            await Eventually.TrueAsync(async () => await RowsAsync(postgres) >= 3, TimeSpan.FromSeconds(10), "three entries reached PostgreSQL");
        }

        await using var second = await RoxyTestHost.StartAsync(Yaml("openai:gpt-4o"), environment, postgres);
        var (again, replayed) = await AskAsync(second, "kept", kept);
        Assert.Equal("hit", again);
        Assert.Equal(keptText, replayed["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        var stream = await second.SendAsync(HttpMethod.Post, "v1/messages", null, messagesBody.Replace("\"max_tokens\":64", "\"max_tokens\":64,\"stream\":true", StringComparison.Ordinal), r =>
        {
            r.Headers.TryAddWithoutValidation("x-api-key", CacheFixture.AdminToken);
            r.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        });
        Assert.Equal("hit", stream.Headers.GetValues("x-roxy-cache").Single());
        Assert.Contains("event: message_stop", await stream.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var (changed, fresh) = await AskAsync(second, "moved", moved);
        Assert.Equal("miss", changed);
        Assert.Equal("gpt-4o", fresh["model"]!.GetValue<string>());

        Assert.Equal(1, UpstreamCalls(kept));
        Assert.Equal(1, UpstreamCalls(messages));
        Assert.Equal(2, UpstreamCalls(moved));
    }

    [Fact]
    public async Task Answers_over_max_entry_bytes_are_not_stored()
    {
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("cache_cap");
        await using var roxy = await RoxyTestHost.StartAsync(
            Yaml("openai:gpt-4o-mini", "cache: { enabled: true, ttl_sec: 3600, max_entry_bytes: 2048 }"), CacheFixture.Environment(), postgres);
        var large = CacheFixture.Marker("over-cap");
        var small = CacheFixture.Marker("under-cap");
        var words = string.Join(' ', Enumerable.Range(0, 600).Select(i => $"word{i}"));

        _upstream.Enqueue(new FakeResponse { Content = words });
        Assert.Equal(words, (await AskAsync(roxy, "kept", large)).Answer["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        await Task.Delay(300);
        Assert.Equal("miss", (await AskAsync(roxy, "kept", large)).Cache);
        Assert.Equal(2, UpstreamCalls(large));

        Assert.Equal("miss", (await AskAsync(roxy, "kept", small)).Cache);
        Assert.Equal("hit", (await AskAsync(roxy, "kept", small)).Cache);
        Assert.Equal(1, UpstreamCalls(small));
    }
}
