using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;
using Beta = Anthropic.Models.Beta.Messages;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// What an Anthropic client relies on around the answer: both ways of sending the token, Anthropic's error shapes and
/// statuses (and the SDK's exception types for them), count_tokens, the <c>?beta=true</c> routes and beta headers,
/// pass-through that keeps every byte but <c>model</c>, and coding-agent-sized bodies.
/// </summary>
[Collection(MessagesGroup.Name)]
public sealed class MessagesProtocolTests
{
    private const string Hello = """{"model":"claude-passthrough","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""";

    private readonly MessagesFixture _f;

    public MessagesProtocolTests(MessagesFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private static MessageCreateParams Ask(string model) => new() { Model = model, MaxTokens = 64, Messages = [new UserMessageParam("hi")] };

    private static async Task<JsonNode> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(text)!;
        Assert.Equal("error", body["type"]!.GetValue<string>());
        Assert.Equal(type, body["error"]!["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(body["error"]!["message"]!.GetValue<string>()));
        return body;
    }

    [Fact]
    public async Task Wrong_or_missing_token_gets_anthropics_401_shape_and_the_sdks_exception()
    {
        await ErrorAsync(await _f.PostAsync("v1/messages", "not-a-roxy-token", Hello), HttpStatusCode.Unauthorized, "authentication_error");
        await ErrorAsync(await _f.PostAsync("v1/messages", null, Hello), HttpStatusCode.Unauthorized, "authentication_error");
        await ErrorAsync(await _f.PostAsync("v1/messages/count_tokens", "not-a-roxy-token", Hello), HttpStatusCode.Unauthorized, "authentication_error");

        var thrown = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => _f.Sdk("not-a-roxy-token").Messages.Create(Ask(MessagesFixture.PassThrough)));
        Assert.Equal(HttpStatusCode.Unauthorized, thrown.StatusCode);
        Assert.DoesNotContain("not-a-roxy-token", thrown.ResponseBody, StringComparison.Ordinal);
        Assert.Empty(_f.Anthropic.Requests);
        Assert.Empty(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Token_is_accepted_as_x_api_key_and_as_bearer_and_never_forwarded()
    {
        var byKey = await _f.Sdk(MessagesFixture.MemberToken).Messages.Create(Ask(MessagesFixture.PassThrough));
        var byBearer = await _f.Sdk(MessagesFixture.MemberToken, bearer: true).Messages.Create(Ask(MessagesFixture.Translated));

        Assert.Equal("end_turn", byKey.StopReason!.Raw());
        Assert.Equal("end_turn", byBearer.StopReason!.Raw());
        var upstream = _f.Anthropic.Requests.Concat(_f.OpenAi.Requests).ToList();
        Assert.Equal(2, upstream.Count);
        Assert.All(upstream, r => Assert.DoesNotContain(r.Headers.Values, v => v.Contains(MessagesFixture.MemberToken, StringComparison.Ordinal)));
        Assert.Equal(MessagesFixture.OpenAiKey, Assert.Single(_f.OpenAi.Requests).ApiKey);
    }

    [Fact]
    public async Task Bad_request_gets_anthropics_400_shape_and_goes_nowhere()
    {
        var body = await ErrorAsync(
            await _f.PostAsync("v1/messages", MessagesFixture.AdminToken, """{"model":"claude-passthrough","messages":[{"role":"user","content":"hi"}]}"""),
            HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Contains("max_tokens", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        await ErrorAsync(await _f.PostAsync("v1/messages", MessagesFixture.AdminToken, "{\"model\":"), HttpStatusCode.BadRequest, "invalid_request_error");
        await Assert.ThrowsAsync<AnthropicBadRequestException>(() => _f.Sdk().Messages.Create(new MessageCreateParams { Model = MessagesFixture.PassThrough, MaxTokens = 64, Messages = [] }));
        Assert.Empty(_f.Anthropic.Requests);
    }

    [Fact]
    public async Task Unknown_model_is_404_not_found_error()
    {
        var response = await _f.PostAsync("v1/messages", MessagesFixture.TokenOf("strict"),
            """{"model":"claude-no-such-model","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""");

        await ErrorAsync(response, HttpStatusCode.NotFound, "not_found_error");
        await Assert.ThrowsAsync<AnthropicNotFoundException>(() => _f.Sdk(MessagesFixture.TokenOf("strict")).Messages.Create(Ask("claude-no-such-model")));
        Assert.Empty(_f.Anthropic.Requests);
    }

    [Theory]
    [InlineData("limit-a", "anthropic")]
    [InlineData("limit-o", "openai")]
    public async Task Upstream_429_becomes_rate_limit_error_with_retry_after(string tenant, string provider)
    {
        var model = provider == "anthropic" ? MessagesFixture.Scenario(AnthropicScenario.RateLimited) : MessagesFixture.Scenario(OpenAiScenario.RateLimited);
        var response = await _f.PostAsync("v1/messages", MessagesFixture.TokenOf(tenant), $$"""{"model":"{{model}}","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""");

        await ErrorAsync(response, HttpStatusCode.TooManyRequests, "rate_limit_error");
        var retryAfter = Assert.Single(response.Headers.GetValues("retry-after"));
        Assert.True(int.Parse(retryAfter, System.Globalization.CultureInfo.InvariantCulture) > 0, $"retry-after: {retryAfter}");
        // The key is now cooling down: the SDK meets Roxy's own 429, in the same shape.
        var thrown = await Assert.ThrowsAsync<AnthropicRateLimitException>(() => _f.Sdk(MessagesFixture.TokenOf(tenant)).Messages.Create(Ask(model)));
        Assert.Equal(HttpStatusCode.TooManyRequests, thrown.StatusCode);
    }

    [Theory]
    [InlineData("over-a", "anthropic")]
    [InlineData("over-o", "openai")]
    public async Task Upstream_overload_becomes_overloaded_error_529(string tenant, string provider)
    {
        var model = provider == "anthropic" ? MessagesFixture.Scenario(AnthropicScenario.Overloaded) : MessagesFixture.Scenario(OpenAiScenario.Overloaded);
        var response = await _f.PostAsync("v1/messages", MessagesFixture.TokenOf(tenant), $$"""{"model":"{{model}}","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""");

        await ErrorAsync(response, (HttpStatusCode)529, "overloaded_error");
        var thrown = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => _f.Sdk(MessagesFixture.TokenOf(tenant)).Messages.Create(Ask(model)));
        Assert.Equal((HttpStatusCode)529, thrown.StatusCode);
    }

    [Fact]
    public async Task Count_tokens_answers_through_the_sdk_and_raw_with_beta_query()
    {
        var sdk = _f.Sdk(MessagesFixture.MemberToken);
        var plain = await sdk.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = MessagesFixture.PassThrough,
            Messages = [new UserMessageParam("What is the weather in Paris today?")],
        });
        var withTools = await sdk.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = MessagesFixture.PassThrough,
            System = "You are a weather assistant who answers in one line.",
            Messages = [new UserMessageParam("What is the weather in Paris today?")],
            Tools =
            [
                new Tool
                {
                    Name = "get_weather",
                    Description = "The current weather in a city, with temperature and wind",
                    InputSchema = new InputSchema { Properties = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }) } },
                },
            ],
        });

        Assert.True(plain.InputTokens > 0);
        Assert.True(withTools.InputTokens > plain.InputTokens, $"{withTools.InputTokens} with a system prompt and a tool, {plain.InputTokens} without");

        const string body = """{"model":"claude-passthrough","messages":[{"role":"user","content":"What is the weather in Paris today?"}]}""";
        var raw = await _f.PostAsync("v1/messages/count_tokens", MessagesFixture.MemberToken, body);
        var beta = await _f.PostAsync("v1/messages/count_tokens?beta=true", MessagesFixture.MemberToken, body);
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal(HttpStatusCode.OK, beta.StatusCode);
        var counted = JsonNode.Parse(await raw.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(["input_tokens"], counted.Select(p => p.Key));
        Assert.Equal(plain.InputTokens, counted["input_tokens"]!.GetValue<long>());
        Assert.Equal(counted.ToJsonString(), JsonNode.Parse(await beta.Content.ReadAsStringAsync())!.ToJsonString());
        Assert.Empty(_f.Anthropic.Requests);
        Assert.Empty(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Beta_route_and_beta_header_reach_anthropic()
    {
        // The SDK's beta client: anthropic-beta carries the flag the strict fake requires for context_management.
        var message = await _f.Sdk().Beta.Messages.Create(new Beta.MessageCreateParams
        {
            Model = MessagesFixture.PassThrough,
            MaxTokens = 64,
            Messages = [new Beta.BetaUserMessageParam("hi")],
            Betas = ["context-management-2025-06-27"],
            ContextManagement = new Beta.BetaContextManagementConfig { Edits = [new Beta.BetaClearToolUses20250919Edit()] },
        });

        Assert.Equal("end_turn", message.StopReason!.Raw());
        Assert.Equal("context-management-2025-06-27", _f.Anthropic.LastRequest!.Headers["anthropic-beta"]);
        Assert.Equal("clear_tool_uses_20250919", JsonNode.Parse(_f.Anthropic.LastRequest.Body)!["context_management"]!["edits"]![0]!["type"]!.GetValue<string>());

        var raw = await _f.PostAsync("v1/messages?beta=true", MessagesFixture.AdminToken, Hello, r => r.Headers.TryAddWithoutValidation("anthropic-beta", "token-efficient-tools-2025-02-19"));
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal("token-efficient-tools-2025-02-19", _f.Anthropic.LastRequest!.Headers["anthropic-beta"]);
        Assert.Equal("Hello from the fake upstream", JsonNode.Parse(await raw.Content.ReadAsStringAsync())!["content"]![0]!["text"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(MessagesFixture.PassThrough)]
    [InlineData(MessagesFixture.Translated)]
    public async Task Claude_codes_system_turns_and_deferred_tools_reach_either_kind_of_target(string model)
    {
        // What Claude Code 2.1 sends with its betas: a system turn inside the conversation and a tool loaded on demand.
        var sent = """
            {"model":"MODEL","max_tokens":512,"stream":false,
             "tools":[{"name":"Read","description":"Reads a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}}}},
                      {"name":"WebFetch","description":"Fetches a URL","input_schema":{"type":"object"},"defer_loading":true}],
             "messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>ctx</system-reminder>"},{"type":"text","text":"Say hello"}]},
                         {"role":"system","content":[{"type":"text","text":"# Environment\ncwd: /repo"}]}]}
            """.Replace("MODEL", model, StringComparison.Ordinal);
        const string betas = "claude-code-20250219,per-turn-control-2026-07-01,advanced-tool-use-2025-11-20";
        var response = await _f.PostAsync("v1/messages?beta=true", MessagesFixture.AdminToken, sent, r => r.Headers.TryAddWithoutValidation("anthropic-beta", betas));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        if (model == MessagesFixture.PassThrough)
        {
            Assert.Equal(betas, _f.Anthropic.LastRequest!.Headers["anthropic-beta"]);
            var upstream = JsonNode.Parse(_f.Anthropic.LastRequest.Body)!;
            Assert.Equal("system", upstream["messages"]![1]!["role"]!.GetValue<string>());
            Assert.True(upstream["tools"]![1]!["defer_loading"]!.GetValue<bool>());
        }
        else
        {
            var upstream = JsonNode.Parse(_f.OpenAi.Requests[^1].Body)!;
            var roles = upstream["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>());
            Assert.Equal(["user", "system"], roles);
            Assert.Equal("# Environment\ncwd: /repo", upstream["messages"]![1]!["content"]!.GetValue<string>());
            Assert.Equal(2, upstream["tools"]!.AsArray().Count);
        }
    }

    [Fact]
    public async Task Pass_through_keeps_every_byte_but_the_model_and_forwards_protocol_headers()
    {
        // Key order, spacing, escapes and fields Roxy does not know, as a coding agent sends them.
        const string sent = """
            {
              "thinking": {"type": "enabled", "budget_tokens": 2048},
              "max_tokens" : 4096,
              "system": [{"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}}],
              "tools": [{"name": "read_file", "description": "Reads a file \u2014 any file", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
              "metadata": {"user_id": "user-42"},
              "output_config": {"effort": "high"},
              "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
              "model":   "claude-passthrough",
              "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Caf\u00e9 \"menu\"\n", "cache_control": {"type": "ephemeral"}}]}
              ],
              "temperature": 1.0
            }
            """;

        var response = await _f.PostAsync("v1/messages", MessagesFixture.AdminToken, sent, r =>
            r.Headers.TryAddWithoutValidation("anthropic-beta", "context-management-2025-06-27,interleaved-thinking-2025-05-14"));

        var answer = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, answer);
        var upstream = _f.Anthropic.LastRequest!;
        Assert.Equal(sent.Replace("\"claude-passthrough\"", "\"claude-sonnet-4-5\"", StringComparison.Ordinal), upstream.Body);
        Assert.Equal("2023-06-01", upstream.Headers["anthropic-version"]);
        Assert.Equal("context-management-2025-06-27,interleaved-thinking-2025-05-14", upstream.Headers["anthropic-beta"]);
        Assert.Equal(MessagesFixture.AnthropicKey, upstream.ApiKey);
        Assert.Equal("anthropic", Assert.Single(response.Headers.GetValues("x-roxy-provider")));
    }

    [Fact]
    public async Task Coding_agent_sized_body_with_a_dozen_tools_goes_to_both_targets()
    {
        var body = LargeBody(MessagesFixture.PassThrough);
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(body), 250_000, 400_000);

        var passed = await _f.PostAsync("v1/messages", MessagesFixture.AdminToken, body);
        Assert.True(passed.StatusCode == HttpStatusCode.OK, await passed.Content.ReadAsStringAsync());
        Assert.Equal(body.Replace("\"claude-passthrough\"", "\"claude-sonnet-4-5\"", StringComparison.Ordinal), _f.Anthropic.LastRequest!.Body);

        var translated = await _f.PostAsync("v1/messages", MessagesFixture.AdminToken, LargeBody(MessagesFixture.Translated));
        Assert.True(translated.StatusCode == HttpStatusCode.OK, await translated.Content.ReadAsStringAsync());
        var sent = JsonNode.Parse(Assert.Single(_f.OpenAi.Requests).Body)!;
        Assert.Equal(12, sent["tools"]!.AsArray().Count);
        Assert.Equal(20, sent["messages"]!.AsArray().Count(m => m!["role"]!.GetValue<string>() == "tool"));
    }

    // Twelve tools with long descriptions and schemas; twenty read_file calls whose results are whole files.
    private static string LargeBody(string model)
    {
        var tools = new JsonArray();
        for (var t = 0; t < 12; t++)
        {
            tools.Add(new JsonObject
            {
                ["name"] = $"tool_{t}",
                ["description"] = string.Concat(Enumerable.Repeat($"Tool {t} does one careful thing to the workspace and reports what changed. ", 30)),
                ["input_schema"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["path"] = new JsonObject { ["type"] = "string", ["description"] = "A path inside the workspace" },
                        ["content"] = new JsonObject { ["type"] = "string" },
                    },
                    ["required"] = new JsonArray("path"),
                },
            });
        }

        var file = string.Concat(Enumerable.Range(0, 220).Select(i => $"    public int Method{i}(int x) => x * {i}; // line {i}\n"));
        var messages = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = "Refactor the project." } };
        for (var i = 0; i < 20; i++)
        {
            var id = $"toolu_{i:D4}";
            messages.Add(new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = new JsonArray(
                    new JsonObject { ["type"] = "text", ["text"] = $"Reading file {i}." },
                    new JsonObject { ["type"] = "tool_use", ["id"] = id, ["name"] = "tool_0", ["input"] = new JsonObject { ["path"] = $"src/File{i}.cs" } }),
            });
            messages.Add(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = id, ["content"] = file }),
            });
        }

        messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = "All files read." });
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = "Now summarize." });
        return new JsonObject { ["model"] = model, ["max_tokens"] = 1024, ["tools"] = tools, ["messages"] = messages }.ToJsonString();
    }
}
