using System.ClientModel;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Roxy.FakeUpstream;
using Roxy.Grains;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// OpenAI clients answered by Anthropic: the official OpenAI SDK → Roxy → the strict fake Anthropic upstream, which
/// refuses any request the real API would refuse, so every answer here also proves its translated request valid.
/// </summary>
public sealed class AnthropicUpstreamTests : IClassFixture<AnthropicProxyFixture>
{
    private static readonly ChatTool Weather = ChatTool.CreateFunctionTool(
        "get_weather", "The weather in a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));

    private static readonly ChatTool Time = ChatTool.CreateFunctionTool(
        "get_time", "The time in a timezone", BinaryData.FromString("""{"type":"object","properties":{"timezone":{"type":"string"}}}"""));

    private static readonly ChatTool Status = ChatTool.CreateFunctionTool("get_status", "The service status");

    private readonly AnthropicProxyFixture _f;

    public AnthropicUpstreamTests(AnthropicProxyFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private static string Model(AnthropicScenario scenario) => "anthropic:" + FakeAnthropicServer.ModelFor(scenario);

    private ChatClient Sdk(string model, string tenant = "main") => _f.Roxy.Chat(model, AnthropicProxyFixture.TokenOf(tenant));

    [Fact]
    public async Task Sdk_gets_a_plain_answer_from_anthropic_with_its_usage()
    {
        ChatCompletion completion = await Sdk("anthropic:claude-sonnet-4-5").CompleteChatAsync(
            [new SystemChatMessage("Be brief."), new UserChatMessage("Say hello")]);

        Assert.Equal("Hello from the fake upstream", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("claude-sonnet-4-5", completion.Model);
        Assert.StartsWith("msg_fake", completion.Id, StringComparison.Ordinal);
        Assert.Equal(5, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 0);
        var sent = Assert.Single(_f.Anthropic.Requests);
        Assert.Equal(AnthropicProxyFixture.AnthropicKeyOf("main"), sent.ApiKey);
        Assert.Equal("2023-06-01", sent.Headers["anthropic-version"]);
        Assert.False(sent.Headers.ContainsKey("Authorization"));
        Assert.Empty(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Sdk_streams_a_translated_answer_with_usage_it_asked_for()
    {
        var parts = new List<string>();
        var ids = new HashSet<string>();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in Sdk(Model(AnthropicScenario.Cached)).CompleteChatStreamingAsync([new UserChatMessage("Say hello")]))
        {
            parts.AddRange(update.ContentUpdate.Select(p => p.Text));
            ids.Add(update.CompletionId);
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal("Hello from the fake upstream", string.Concat(parts));
        Assert.True(parts.Count >= 5, "each text delta reaches the client as its own chunk");
        Assert.StartsWith("msg_fake", Assert.Single(ids), StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, finish);
        // The fake splits 21 input tokens into 3 uncached, 7 written to the cache and 11 read from it.
        Assert.NotNull(usage);
        Assert.Equal(21, usage.InputTokenCount);
        Assert.Equal(11, usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(5, usage.OutputTokenCount);
    }

    [Fact]
    public async Task Stream_without_include_usage_has_no_usage_chunk_and_ends_with_done()
    {
        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("main"),
            $$"""{"model":"{{Model(AnthropicScenario.Text)}}","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var body = await response.Content.ReadAsStringAsync();
        var chunks = DataLines(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[DONE]", chunks[^1]);
        var json = chunks[..^1].Select(c => JsonNode.Parse(c)!).ToList();
        Assert.All(json, c => Assert.Single(c["choices"]!.AsArray()));
        Assert.Equal("assistant", json[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        Assert.Single(json.Select(c => c["id"]!.GetValue<string>()).Distinct());
        Assert.Equal("stop", json[^1]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.All(json[..^1], c => Assert.Null(c["choices"]![0]!["finish_reason"]));
        Assert.DoesNotContain("usage", body, StringComparison.Ordinal);
        // Roxy reads usage from Anthropic's own events; it asks for nothing extra upstream.
        Assert.DoesNotContain("stream_options", Assert.Single(_f.Anthropic.Requests).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sdk_streams_parallel_tool_calls_indexed_by_tool_not_by_block()
    {
        var calls = new SortedDictionary<int, (string? Id, string? Name, string Arguments)>();
        ChatFinishReason? finish = null;
        var text = new List<string>();
        var options = new ChatCompletionOptions { Tools = { Weather, Time } };
        await foreach (var update in Sdk(Model(AnthropicScenario.ParallelTools)).CompleteChatStreamingAsync(
            [new UserChatMessage("Weather and time in Paris?")], options))
        {
            text.AddRange(update.ContentUpdate.Select(p => p.Text));
            foreach (var call in update.ToolCallUpdates)
            {
                var (id, name, arguments) = calls.GetValueOrDefault(call.Index, (null, null, ""));
                calls[call.Index] = (id ?? call.ToolCallId, name ?? call.FunctionName, arguments + call.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal("Let me check both.", string.Concat(text));
        // Anthropic's blocks 1 and 2 (block 0 is the text) are the answer's tool calls 0 and 1.
        Assert.Equal([0, 1], calls.Keys);
        Assert.Equal("get_weather", calls[0].Name);
        Assert.StartsWith("toolu_fake_weather_", calls[0].Id, StringComparison.Ordinal);
        Assert.Equal("Paris", JsonNode.Parse(calls[0].Arguments)!["city"]!.GetValue<string>());
        Assert.Equal("get_time", calls[1].Name);
        Assert.Equal("Europe/Paris", JsonNode.Parse(calls[1].Arguments)!["timezone"]!.GetValue<string>());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);

        var sent = JsonNode.Parse(Assert.Single(_f.Anthropic.Requests).Body)!;
        Assert.Equal("get_weather", sent["tools"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("string", sent["tools"]![0]!["input_schema"]!["properties"]!["city"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sdk_gets_parallel_tool_calls_in_a_json_answer()
    {
        var options = new ChatCompletionOptions { Tools = { Weather, Time } };
        ChatCompletion completion = await Sdk(Model(AnthropicScenario.ParallelTools)).CompleteChatAsync(
            [new UserChatMessage("Weather and time in Paris?")], options);

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Equal("Let me check both.", completion.Content[0].Text);
        Assert.Equal(["get_weather", "get_time"], completion.ToolCalls.Select(c => c.FunctionName));
        Assert.Equal("""{"city":"Paris"}""", completion.ToolCalls[0].FunctionArguments.ToString());
        Assert.Equal("""{"timezone":"Europe/Paris"}""", completion.ToolCalls[1].FunctionArguments.ToString());
        Assert.All(completion.ToolCalls, c => Assert.StartsWith("toolu_fake_", c.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tool_without_arguments_gets_empty_object_arguments_streaming_and_not()
    {
        var options = new ChatCompletionOptions { Tools = { Status } };
        string? id = null, name = null, arguments = "";
        await foreach (var update in Sdk(Model(AnthropicScenario.ToolNoArgs)).CompleteChatStreamingAsync([new UserChatMessage("Status?")], options))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                Assert.Equal(0, call.Index);
                id ??= call.ToolCallId;
                name ??= call.FunctionName;
                arguments += call.FunctionArgumentsUpdate?.ToString();
            }
        }

        Assert.StartsWith("toolu_fake_status_", id, StringComparison.Ordinal);
        Assert.Equal("get_status", name);
        Assert.Equal("{}", arguments);

        ChatCompletion completion = await Sdk(Model(AnthropicScenario.ToolNoArgs)).CompleteChatAsync([new UserChatMessage("Status?")], options);
        var call0 = Assert.Single(completion.ToolCalls);
        Assert.Equal("{}", call0.FunctionArguments.ToString());
        Assert.Empty(completion.Content);
    }

    [Fact]
    public async Task Thinking_blocks_are_left_out_of_the_chat_answer()
    {
        var parts = new List<string>();
        await foreach (var update in Sdk(Model(AnthropicScenario.Thinking)).CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            parts.AddRange(update.ContentUpdate.Select(p => p.Text));
        }

        ChatCompletion completion = await Sdk(Model(AnthropicScenario.Thinking)).CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("Hello from the fake upstream", string.Concat(parts));
        Assert.Equal("Hello from the fake upstream", Assert.Single(completion.Content).Text);
    }

    [Fact]
    public async Task Max_tokens_and_refusal_stops_keep_their_meaning()
    {
        ChatCompletion length = await Sdk(Model(AnthropicScenario.MaxTokens)).CompleteChatAsync([new UserChatMessage("hi")]);
        ChatFinishReason? streamed = null;
        await foreach (var update in Sdk(Model(AnthropicScenario.Refusal)).CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            streamed ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.Length, length.FinishReason);
        Assert.Equal(ChatFinishReason.ContentFilter, streamed);
    }

    // ------------------------------------------------------------------ strictness, through real translated requests

    [Fact]
    public async Task Tool_round_trip_with_system_messages_anywhere_and_images_is_accepted()
    {
        var png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");
        List<ChatMessage> messages =
        [
            new SystemChatMessage("You are terse."),
            new UserChatMessage(
                ChatMessageContentPart.CreateTextPart("What is in these pictures, and what is the weather there?"),
                ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(png), "image/png"),
                ChatMessageContentPart.CreateImagePart(new Uri("https://example.com/paris.jpg"))),
            new AssistantChatMessage(
            [
                // OpenAI-style ids with characters Anthropic refuses: both sides must be sanitized the same way.
                ChatToolCall.CreateFunctionToolCall("call.weather:1", "get_weather", BinaryData.FromString("""{"city":"Paris"}""")),
                ChatToolCall.CreateFunctionToolCall("call.time:2", "get_time", BinaryData.FromString("""{"timezone":"Europe/Paris"}""")),
            ]),
            new ToolChatMessage("call.weather:1", "Sunny, 21 C"),
            new ToolChatMessage("call.time:2", "14:05"),
            new UserChatMessage("Answer in one line."),
            new SystemChatMessage("Never mention the time zone."),
        ];

        ChatCompletion completion = await Sdk("anthropic:claude-sonnet-4-5").CompleteChatAsync(messages, new ChatCompletionOptions { Tools = { Weather, Time } });

        Assert.Equal("Hello from the fake upstream", completion.Content[0].Text);
        var sent = JsonNode.Parse(Assert.Single(_f.Anthropic.Requests).Body)!;
        var system = sent["system"]!.ToJsonString();
        Assert.Contains("You are terse.", system, StringComparison.Ordinal);
        Assert.Contains("Never mention the time zone.", system, StringComparison.Ordinal);
        var turns = sent["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], turns.Select(t => t!["role"]!.GetValue<string>()));
        var images = turns[0]!["content"]!.AsArray().Where(b => b!["type"]!.GetValue<string>() == "image").ToList();
        Assert.Equal("base64", images[0]!["source"]!["type"]!.GetValue<string>());
        Assert.Equal("image/png", images[0]!["source"]!["media_type"]!.GetValue<string>());
        Assert.Equal("url", images[1]!["source"]!["type"]!.GetValue<string>());
        var uses = turns[1]!["content"]!.AsArray().Where(b => b!["type"]!.GetValue<string>() == "tool_use").Select(b => b!["id"]!.GetValue<string>()).ToList();
        var results = turns[2]!["content"]!.AsArray().Take(2).Select(b => b!["tool_use_id"]!.GetValue<string>()).ToList();
        Assert.Equal(2, uses.Count);
        Assert.Equal(uses, results);
        Assert.Equal("text", turns[2]!["content"]![2]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Fake_refuses_what_the_real_api_refuses()
    {
        // The fake's strictness itself, spoken to directly: an OpenAI body sent to the Messages API unchanged.
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_f.Anthropic.BaseUrl + "/messages"))
        {
            Content = new StringContent(
                """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}]}""",
                System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", "sk-ant-direct");
        request.Headers.Add("anthropic-version", "2023-06-01");
        var response = await http.SendAsync(request);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("messages.0.role: Input should be 'user' or 'assistant'", error.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    // ------------------------------------------------------------------ errors

    [Fact]
    public async Task Mid_stream_error_makes_the_sdk_throw_after_the_text_it_sent()
    {
        var parts = new List<string>();
        var thrown = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in Sdk("mid-stream-then-gpt", "mid-stream").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
                parts.AddRange(update.ContentUpdate.Select(p => p.Text));
            }
        });

        Assert.NotNull(thrown);
        Assert.Equal("Hello from", string.Concat(parts));
        // Committed at the first text: no failover to the rule's OpenAI target after it.
        Assert.Single(_f.Anthropic.Requests);
        Assert.Empty(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Mid_stream_error_reaches_a_raw_client_as_an_openai_error_event_never_a_stop()
    {
        var response = await _f.Roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", AnthropicProxyFixture.TokenOf("mid-stream"),
            """{"model":"mid-stream-then-gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}""",
            completion: HttpCompletionOption.ResponseHeadersRead);
        var seen = new System.Text.StringBuilder();
        var failed = await Record.ExceptionAsync(async () =>
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[4096];
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                seen.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, read));
            }
        });
        var body = seen.ToString();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(failed);
        var error = JsonNode.Parse(DataLines(body)[^1])!["error"]!;
        Assert.Equal("server_error", error["type"]!.GetValue<string>());
        Assert.Equal("Overloaded", error["message"]!.GetValue<string>());
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
        Assert.DoesNotContain("finish_reason\":\"stop", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Translated_stream_that_ends_before_its_stop_is_an_error_to_the_sdk_never_a_whole_answer()
    {
        var parts = new List<string>();
        var thrown = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in Sdk("truncated-then-gpt", "truncated").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
                parts.AddRange(update.ContentUpdate.Select(p => p.Text));
            }
        });

        Assert.NotNull(thrown);
        Assert.Equal("Hello from", string.Concat(parts));
        Assert.Empty(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Request_anthropic_cannot_express_goes_to_the_next_target_without_reserving_an_anthropic_key()
    {
        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("n-two"),
            """{"model":"claude-then-gpt","n":2,"messages":[{"role":"user","content":"hi"}]}""");
        await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("openai", response.Headers.GetValues("x-roxy-provider").Single());
        Assert.Empty(_f.Anthropic.Requests);
        Assert.Single(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Lone_surrogate_escape_is_a_400_for_an_anthropic_target_not_a_500()
    {
        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("caller"),
            $$"""{"model":"{{Model(AnthropicScenario.Text)}}","user":"u\ud800","messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Empty(_f.Anthropic.Requests);
    }

    [Fact]
    public async Task Anthropic_caller_error_reaches_the_client_in_openai_shape_and_is_not_retried()
    {
        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("caller"),
            """{"model":"too-long-then-gpt","messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("prompt is too long: 210345 tokens > 200000 maximum", error.GetProperty("message").GetString());
        Assert.Single(_f.Anthropic.Requests);
        Assert.Empty(_f.OpenAi.Requests);

        // The SDK sees it as what it is: a 400, raised as such.
        var thrown = await Assert.ThrowsAsync<ClientResultException>(() =>
            Sdk("too-long-then-gpt", "caller").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(400, thrown.Status);
    }

    [Fact]
    public async Task Overloaded_529_is_503_with_retry_after_when_anthropic_is_the_only_target()
    {
        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("only-529"),
            $$"""{"model":"{{Model(AnthropicScenario.Overloaded)}}","messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("upstream_overloaded", error.GetProperty("code").GetString());
        Assert.NotNull(response.Headers.RetryAfter);

        // The provider is backed off: the next request is refused without calling it.
        var again = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("only-529"),
            $$"""{"model":"{{Model(AnthropicScenario.Overloaded)}}","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
        Assert.NotNull(again.Headers.RetryAfter);
        Assert.Single(_f.Anthropic.Requests);
    }

    [Fact]
    public async Task Streamed_529_is_503_with_retry_after_too()
    {
        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("only-529-stream"),
            $$"""{"model":"{{Model(AnthropicScenario.Overloaded)}}","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("upstream_overloaded", error.GetProperty("code").GetString());
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task Overloaded_error_event_before_content_is_503_with_retry_after_and_backs_the_provider_off()
    {
        var body = $$"""{"model":"{{Model(AnthropicScenario.OverloadedBeforeContent)}}","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("only-early-overload"), body);
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("upstream_overloaded", error.GetProperty("code").GetString());
        Assert.NotNull(response.Headers.RetryAfter);

        var sent = _f.Anthropic.Requests.Count;
        var again = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("only-early-overload"), body);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
        Assert.Equal(sent, _f.Anthropic.Requests.Count);
    }

    [Fact]
    public async Task Anthropic_429_cools_the_key_for_as_long_as_anthropic_says()
    {
        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("limited"),
            $$"""{"model":"{{Model(AnthropicScenario.RateLimited)}}","messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        // The key's own cooldown is 1 s: the 7 s is the provider's retry-after and anthropic-ratelimit-*-reset.
        Assert.InRange(response.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 6, 8);
        var again = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("limited"),
            $$"""{"model":"{{Model(AnthropicScenario.RateLimited)}}","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
        Assert.Single(_f.Anthropic.Requests);
    }

    [Fact]
    public async Task Refused_anthropic_key_is_disabled_and_its_words_never_reach_the_client()
    {
        var key = AnthropicProxyFixture.AnthropicKeyOf("auth");
        _f.Anthropic.SetKeyBehavior(key, FakeResponse.Error(401, "authentication_error", null, $"invalid x-api-key: {key}"));

        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("auth"),
            """{"model":"claude-then-gpt","messages":[{"role":"user","content":"hi"}]}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("openai", response.Headers.GetValues("x-roxy-provider").Single());
        Assert.DoesNotContain(key, body, StringComparison.Ordinal);
        var tenant = _f.Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("auth"));
        await Eventually.TrueAsync(async () => (await tenant.GetSnapshotAsync()).Keys.Any(k => k.Provider == "anthropic" && !k.Enabled));
        Assert.DoesNotContain(_f.Roxy.Logs.Lines, l => l.Contains(key, StringComparison.Ordinal));
    }

    // ------------------------------------------------------------------ failover across protocols

    [Fact]
    public async Task Failing_openai_target_falls_back_to_anthropic_json()
    {
        _f.OpenAi.SetKeyBehavior(AnthropicProxyFixture.OpenAiKeyOf("fo-500"), FakeResponse.ServerError());

        ChatCompletion completion = await Sdk("gpt-then-claude", "fo-500").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("Hello from the fake upstream", completion.Content[0].Text);
        Assert.Equal("claude-sonnet-4-5", completion.Model);
        Assert.Single(_f.OpenAi.Requests);
        Assert.Single(_f.Anthropic.Requests);
    }

    [Fact]
    public async Task Rate_limited_openai_target_falls_back_to_anthropic_streaming()
    {
        _f.OpenAi.SetKeyBehavior(AnthropicProxyFixture.OpenAiKeyOf("fo-429"), FakeResponse.RateLimited(retryAfterSeconds: 30));

        var parts = new List<string>();
        await foreach (var update in Sdk("gpt-then-claude", "fo-429").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            parts.AddRange(update.ContentUpdate.Select(p => p.Text));
        }

        Assert.Equal("Hello from the fake upstream", string.Concat(parts));
        Assert.Single(_f.OpenAi.Requests);
        Assert.Single(_f.Anthropic.Requests);
    }

    [Fact]
    public async Task Openai_stream_error_before_content_falls_back_to_anthropic()
    {
        _f.OpenAi.Enqueue(new FakeResponse { SseErrorBeforeContent = true });
        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("fo-stream"),
            """{"model":"gpt-then-claude","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("anthropic", response.Headers.GetValues("x-roxy-provider").Single());
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"error\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Openai_dropping_mid_stream_is_not_failed_over_to_anthropic()
    {
        _f.OpenAi.SetKeyBehavior(AnthropicProxyFixture.OpenAiKeyOf("fo-drop"), new FakeResponse { DropAfterEvents = 3 });
        var response = await _f.Roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", AnthropicProxyFixture.TokenOf("fo-drop"),
            """{"model":"gpt-then-claude","stream":true,"messages":[{"role":"user","content":"hi"}]}""",
            completion: HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(response.Content.ReadAsStringAsync);
        Assert.Single(_f.OpenAi.Requests);
        Assert.Empty(_f.Anthropic.Requests);
    }

    [Fact]
    public async Task Overloaded_anthropic_falls_back_to_openai_json()
    {
        ChatCompletion completion = await Sdk("overloaded-then-gpt", "back-json").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("Hello from the fake upstream", completion.Content[0].Text);
        Assert.Equal("gpt-4o-mini", completion.Model);
        Assert.Single(_f.Anthropic.Requests);
        Assert.Single(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Overloaded_anthropic_falls_back_to_openai_streaming()
    {
        var parts = new List<string>();
        await foreach (var update in Sdk("overloaded-then-gpt", "back-stream").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            parts.AddRange(update.ContentUpdate.Select(p => p.Text));
        }

        Assert.Equal("Hello from the fake upstream", string.Concat(parts));
        Assert.Single(_f.Anthropic.Requests);
        Assert.Single(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Overloaded_error_event_before_content_still_fails_over_to_openai()
    {
        var response = await _f.Roxy.PostChatAsync(AnthropicProxyFixture.TokenOf("back-early"),
            """{"model":"early-error-then-gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("openai", response.Headers.GetValues("x-roxy-provider").Single());
        Assert.DoesNotContain("\"error\"", body, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        Assert.Single(_f.Anthropic.Requests);
    }

    private static string[] DataLines(string body) =>
        body.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l[6..]).ToArray();
}
