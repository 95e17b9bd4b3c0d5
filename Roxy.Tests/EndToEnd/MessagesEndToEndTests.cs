using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Models.Messages;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The official Anthropic SDK through <c>/v1/messages</c> to both kinds of target: straight through to the strict fake
/// Anthropic, and translated to the strict fake OpenAI (which refuses what OpenAI refuses, so every answer also
/// proves the translated request valid). Text, usage, streams and tool-use round trips.
/// </summary>
[Collection(MessagesGroup.Name)]
public sealed class MessagesEndToEndTests
{
    private static readonly Tool Weather = new()
    {
        Name = "get_weather",
        Description = "The weather in a city",
        InputSchema = new InputSchema
        {
            Properties = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }) },
            Required = ["city"],
        },
    };

    private static readonly Tool Time = new()
    {
        Name = "get_time",
        Description = "The time in a timezone",
        InputSchema = new InputSchema { Properties = new Dictionary<string, JsonElement> { ["timezone"] = JsonSerializer.SerializeToElement(new { type = "string" }) } },
    };

    private static readonly Tool Status = new() { Name = "get_status", Description = "The service status", InputSchema = new InputSchema() };

    private readonly MessagesFixture _f;

    public MessagesEndToEndTests(MessagesFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private static MessageCreateParams Ask(string model, string text = "Say hello", IReadOnlyList<ToolUnion>? tools = null)
    {
        var ask = new MessageCreateParams
        {
            Model = model,
            MaxTokens = 256,
            System = "Be brief.",
            Messages = [new UserMessageParam(text)],
        };

        // Set only when there are tools: the SDK would send "tools": null, which the API refuses.
        return tools is null ? ask : new MessageCreateParams(ask) { Tools = tools };
    }

    private static string Text(Message message) =>
        string.Concat(message.Content.Select(b => b.Value).OfType<TextBlock>().Select(t => t.Text));

    private static List<ToolUseBlock> ToolUses(Message message) => [.. message.Content.Select(b => b.Value).OfType<ToolUseBlock>()];

    [Fact]
    public async Task Sdk_gets_an_answer_from_anthropic_passed_through()
    {
        var message = await _f.Sdk().Messages.Create(Ask(MessagesFixture.PassThrough));

        Assert.Equal("Hello from the fake upstream", Text(message));
        Assert.Equal("end_turn", message.StopReason!.Raw());
        Assert.Equal(MessagesFixture.PassThroughTarget, message.Model.Raw());
        Assert.StartsWith("msg_fake", message.ID, StringComparison.Ordinal);
        Assert.Equal(5, message.Usage.OutputTokens);
        Assert.True(message.Usage.InputTokens > 0);

        var sent = Assert.Single(_f.Anthropic.Requests);
        Assert.Equal(MessagesFixture.AnthropicKey, sent.ApiKey);
        // The SDK's own API version, forwarded as it sent it.
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", sent.Headers["anthropic-version"]);
        Assert.False(sent.Headers.ContainsKey("Authorization"));
        Assert.Equal(MessagesFixture.PassThroughTarget, JsonNode.Parse(sent.Body)!["model"]!.GetValue<string>());
        Assert.Empty(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Sdk_gets_a_translated_answer_from_openai_with_its_cached_usage()
    {
        var message = await _f.Sdk().Messages.Create(Ask(MessagesFixture.Scenario(OpenAiScenario.Cached)));

        Assert.Equal("Hello from the fake upstream", Text(message));
        Assert.Equal("end_turn", message.StopReason!.Raw());
        Assert.Equal("message", message.Type.GetString());
        Assert.StartsWith("msg_", message.ID, StringComparison.Ordinal);
        // The fake's 1500 prompt tokens of which 1280 came from OpenAI's cache: Anthropic counts them apart.
        Assert.Equal(1500 - 1280, message.Usage.InputTokens);
        Assert.Equal(1280, message.Usage.CacheReadInputTokens);
        Assert.Equal(5, message.Usage.OutputTokens);

        var sent = JsonNode.Parse(Assert.Single(_f.OpenAi.Requests).Body)!;
        Assert.Equal(FakeOpenAiServer.ModelFor(OpenAiScenario.Cached), sent["model"]!.GetValue<string>());
        Assert.Equal(256, sent["max_tokens"]!.GetValue<int>());
        var messages = sent["messages"]!.AsArray();
        Assert.Equal(["system", "user"], messages.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Contains("Be brief.", messages[0]!["content"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Empty(_f.Anthropic.Requests);
    }

    [Fact]
    public async Task Sdk_gets_a_translated_answer_through_a_rule_with_plain_usage()
    {
        var message = await _f.Sdk().Messages.Create(Ask(MessagesFixture.Translated));

        Assert.Equal("Hello from the fake upstream", Text(message));
        Assert.True(message.Usage.InputTokens > 0, "input tokens come from the upstream's prompt_tokens");
        Assert.Equal(0, message.Usage.CacheReadInputTokens ?? 0);
        Assert.Equal(5, message.Usage.OutputTokens);
        Assert.Equal(MessagesFixture.TranslatedTarget, JsonNode.Parse(Assert.Single(_f.OpenAi.Requests).Body)!["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sdk_streams_from_anthropic_with_its_cache_usage_untouched()
    {
        var events = new List<RawMessageStreamEvent>();
        await foreach (var e in _f.Sdk().Messages.CreateStreaming(Ask(MessagesFixture.Scenario(AnthropicScenario.Cached))))
        {
            events.Add(e);
        }

        var message = await ToAsync(events).Aggregate();
        Assert.Equal("Hello from the fake upstream", Text(message));
        Assert.Equal("end_turn", message.StopReason!.Raw());
        Assert.Equal(3, message.Usage.InputTokens);
        Assert.Equal(7, message.Usage.CacheCreationInputTokens);
        Assert.Equal(11, message.Usage.CacheReadInputTokens);
        Assert.Equal(5, message.Usage.OutputTokens);
        Assert.True(events.Count(e => e.TryPickContentBlockDelta(out _)) >= 5, "each text delta reaches the client as its own event");
        Assert.True(JsonNode.Parse(Assert.Single(_f.Anthropic.Requests).Body)!["stream"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Sdk_streams_a_translated_answer_with_input_counted_up_front_and_final_usage()
    {
        var events = new List<RawMessageStreamEvent>();
        await foreach (var e in _f.Sdk().Messages.CreateStreaming(Ask(MessagesFixture.Scenario(OpenAiScenario.Cached))))
        {
            events.Add(e);
        }

        var start = Assert.Single(events, e => e.TryPickStart(out _));
        Assert.True(start.TryPickStart(out var opening));
        Assert.True(opening!.Message.Usage.InputTokens > 0, "message_start carries Roxy's own count, never 0");
        Assert.Equal(0, opening.Message.Usage.OutputTokens);
        var message = await ToAsync(events).Aggregate();
        Assert.Equal("Hello from the fake upstream", Text(message));
        Assert.Equal("end_turn", message.StopReason!.Raw());
        // message_delta corrects the estimate with what OpenAI counted.
        Assert.Equal(1500 - 1280, message.Usage.InputTokens);
        Assert.Equal(1280, message.Usage.CacheReadInputTokens);
        Assert.Equal(5, message.Usage.OutputTokens);
        var sent = JsonNode.Parse(Assert.Single(_f.OpenAi.Requests).Body)!;
        Assert.True(sent["stream"]!.GetValue<bool>());
        Assert.True(sent["stream_options"]!["include_usage"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Tool_use_round_trip_through_anthropic()
    {
        var sdk = _f.Sdk();
        var model = MessagesFixture.Scenario(AnthropicScenario.ParallelTools);
        var first = await sdk.Messages.Create(Ask(model, "Weather and time in Paris?", [Weather, Time]));

        Assert.Equal("tool_use", first.StopReason!.Raw());
        Assert.Equal("Let me check both.", Text(first));
        var uses = ToolUses(first);
        Assert.Equal(["get_weather", "get_time"], uses.Select(u => u.Name));
        Assert.Equal("Paris", uses[0].Input["city"].GetString());

        var second = await sdk.Messages.Create(FollowUp(model, first, uses, ["Sunny, 21 C", "14:05"], [Weather, Time]));

        Assert.Equal("The tools said: Sunny, 21 C | 14:05", Text(second));
        Assert.Equal("end_turn", second.StopReason!.Raw());
        // The strict fake accepted the history, so each tool_result answered its tool_use; the bytes went untouched.
        var sent = JsonNode.Parse(_f.Anthropic.Requests[^1].Body)!["messages"]!.AsArray();
        Assert.Equal(uses.Select(u => u.ID), sent[2]!["content"]!.AsArray().Select(b => b!["tool_use_id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Tool_use_round_trip_through_openai()
    {
        var sdk = _f.Sdk();
        var model = MessagesFixture.Scenario(OpenAiScenario.ParallelTools);
        var first = await sdk.Messages.Create(Ask(model, "Weather and time in Paris?", [Weather, Time]));

        Assert.Equal("tool_use", first.StopReason!.Raw());
        var uses = ToolUses(first);
        Assert.Equal(["get_weather", "get_time"], uses.Select(u => u.Name));
        Assert.All(uses, u => Assert.StartsWith("call_", u.ID, StringComparison.Ordinal));
        Assert.Equal("Paris", uses[0].Input["city"].GetString());
        Assert.Equal("Europe/Paris", uses[1].Input["timezone"].GetString());
        var tools = JsonNode.Parse(_f.OpenAi.Requests[0].Body)!["tools"]!.AsArray();
        Assert.Equal("function", tools[0]!["type"]!.GetValue<string>());
        Assert.Equal("get_weather", tools[0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("string", tools[0]!["function"]!["parameters"]!["properties"]!["city"]!["type"]!.GetValue<string>());

        var second = await sdk.Messages.Create(FollowUp(model, first, uses, ["Sunny, 21 C", "14:05"], [Weather, Time]));

        Assert.Equal("The tools said: Sunny, 21 C | 14:05", Text(second));
        Assert.Equal("end_turn", second.StopReason!.Raw());
        // The strict fake accepted it: each tool message answers a call of the assistant turn right before it.
        var sent = JsonNode.Parse(_f.OpenAi.Requests[^1].Body)!["messages"]!.AsArray();
        Assert.Equal(["system", "user", "assistant", "tool", "tool"], sent.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal(uses.Select(u => u.ID), sent[2]!["tool_calls"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()));
        Assert.Equal(uses.Select(u => u.ID), sent.Skip(3).Select(m => m!["tool_call_id"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData(OpenAiScenario.ParallelTools)]
    [InlineData(OpenAiScenario.InterleavedTools)]
    public async Task Streamed_tool_calls_from_openai_arrive_as_whole_tool_use_blocks(OpenAiScenario scenario)
    {
        var body = await StreamAsync(MessagesFixture.Scenario(scenario), tools: true);

        var events = MessagesSse.AssertWellOrdered(MessagesSse.Parse(body));
        var blocks = MessagesSse.Blocks(events);
        Assert.Equal(["tool_use", "tool_use"], blocks.Select(b => b.Type));
        Assert.Equal(["get_weather", "get_time"], blocks.Select(b => b.Start["name"]!.GetValue<string>()));
        Assert.Equal("Paris", JsonNode.Parse(blocks[0].Content)!["city"]!.GetValue<string>());
        Assert.Equal("Europe/Paris", JsonNode.Parse(blocks[1].Content)!["timezone"]!.GetValue<string>());
        Assert.Equal("tool_use", events[^2].Data["delta"]!["stop_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stream_switching_from_text_to_a_tool_call_keeps_both()
    {
        var body = await StreamAsync(MessagesFixture.Scenario(OpenAiScenario.TextThenTool), tools: true);

        var events = MessagesSse.AssertWellOrdered(MessagesSse.Parse(body));
        Assert.True(events[0].Data["message"]!["usage"]!["input_tokens"]!.GetValue<int>() > 0, "message_start's input_tokens is counted, never 0");
        var blocks = MessagesSse.Blocks(events);
        Assert.Equal(["text", "tool_use"], blocks.Select(b => b.Type));
        Assert.Equal("Let me look that up.", blocks[0].Content);
        Assert.Equal("get_weather", blocks[1].Start["name"]!.GetValue<string>());
        Assert.StartsWith("call_weather", blocks[1].Start["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Paris", JsonNode.Parse(blocks[1].Content)!["city"]!.GetValue<string>());
        var delta = events[^2].Data;
        Assert.Equal("tool_use", delta["delta"]!["stop_reason"]!.GetValue<string>());
        Assert.True(delta["usage"]!["output_tokens"]!.GetValue<int>() > 0);

        // The SDK's own aggregation agrees.
        var events2 = new List<RawMessageStreamEvent>();
        await foreach (var e in _f.Sdk().Messages.CreateStreaming(Ask(MessagesFixture.Scenario(OpenAiScenario.TextThenTool), "Weather in Paris?", [Weather])))
        {
            events2.Add(e);
        }

        var message = await ToAsync(events2).Aggregate();
        Assert.Equal("Let me look that up.", Text(message));
        Assert.Equal("Paris", Assert.Single(ToolUses(message)).Input["city"].GetString());
        Assert.Equal("tool_use", message.StopReason!.Raw());
    }

    [Fact]
    public async Task Anthropic_stream_with_text_then_tools_passes_through_in_order()
    {
        var body = await StreamAsync(MessagesFixture.Scenario(AnthropicScenario.ParallelTools), tools: true);

        var events = MessagesSse.AssertWellOrdered(MessagesSse.Parse(body));
        var blocks = MessagesSse.Blocks(events);
        Assert.Equal(["text", "tool_use", "tool_use"], blocks.Select(b => b.Type));
        Assert.Equal("Let me check both.", blocks[0].Content);
        Assert.Equal("Paris", JsonNode.Parse(blocks[1].Content)!["city"]!.GetValue<string>());
        Assert.Empty(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Tool_call_without_arguments_gets_an_empty_input_streamed_or_not()
    {
        var message = await _f.Sdk().Messages.Create(Ask(MessagesFixture.Scenario(OpenAiScenario.ToolNoArgs), "Status?", [Status]));
        var use = Assert.Single(ToolUses(message));
        Assert.Equal("get_status", use.Name);
        Assert.Empty(use.Input);

        var events = MessagesSse.AssertWellOrdered(MessagesSse.Parse(await StreamAsync(MessagesFixture.Scenario(OpenAiScenario.ToolNoArgs), tools: true)));
        var block = Assert.Single(MessagesSse.Blocks(events));
        Assert.Equal("tool_use", block.Type);
        // Whatever fragments were sent, they parse as the empty object the tool needs.
        Assert.Empty(JsonNode.Parse(block.Content.Length == 0 ? "{}" : block.Content)!.AsObject());
    }

    [Theory]
    [InlineData(OpenAiScenario.Text, "end_turn")]
    [InlineData(OpenAiScenario.Length, "max_tokens")]
    [InlineData(OpenAiScenario.ContentFilter, "refusal")]
    [InlineData(OpenAiScenario.TextThenTool, "tool_use")]
    [InlineData(OpenAiScenario.ToolThenStop, "tool_use")]
    public async Task Finish_reasons_become_anthropic_stop_reasons(OpenAiScenario scenario, string stopReason)
    {
        var message = await _f.Sdk().Messages.Create(Ask(MessagesFixture.Scenario(scenario), "Weather in Paris?", [Weather]));
        Assert.Equal(stopReason, message.StopReason!.Raw());

        var events = MessagesSse.AssertWellOrdered(MessagesSse.Parse(await StreamAsync(MessagesFixture.Scenario(scenario), tools: true)));
        Assert.Equal(stopReason, events[^2].Data["delta"]!["stop_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Upstream_failure_after_content_is_an_error_never_a_clean_end()
    {
        var model = MessagesFixture.Scenario(OpenAiScenario.ErrorMidStream);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_f.Roxy.BaseUrl, "v1/messages"))
        {
            Content = new StringContent($$"""{"model":"{{model}}","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", MessagesFixture.AdminToken);
        using var http = new HttpClient();
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Read event by event: Roxy writes event: error and ends the stream there, as Anthropic's API does (its SDKs
        // raise on the event); no message_delta or message_stop lets a client take the partial answer for a whole one.
        var text = new System.Text.StringBuilder();
        var cut = false;
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                text.Append(line).Append('\n');
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            cut = true;
        }

        var body = text.ToString();
        var complete = body[..(body.LastIndexOf("\n\n", StringComparison.Ordinal) + 2)];
        var events = MessagesSse.Parse(complete);
        Assert.Equal("message_start", events[0].Name);
        Assert.Contains(events, e => e.Name == "content_block_delta");
        Assert.DoesNotContain(events, e => e.Name is "message_delta" or "message_stop");
        Assert.False(cut, "the stream was cut instead of ending after its error event");
        Assert.Equal(body.Length, complete.Length);
        var error = events[^1];
        Assert.Equal("error", error.Name);
        Assert.Equal("api_error", error.Data["error"]!["type"]!.GetValue<string>());

        Assert.DoesNotContain(MessagesFixture.OpenAiKey, body, StringComparison.Ordinal);

        // The SDK raises on the error event and never yields a finished message.
        var thrown = await Record.ExceptionAsync(async () =>
        {
            await foreach (var e in _f.Sdk().Messages.CreateStreaming(Ask(model)))
            {
                Assert.False(e.TryPickStop(out _), "message_stop after an upstream failure");
            }
        });
        Assert.True(thrown is Anthropic.Exceptions.AnthropicException, $"{thrown?.GetType().Name}: {thrown?.Message}");
    }

    private async Task<string> StreamAsync(string model, bool tools = false)
    {
        var toolsJson = tools
            ? ""","tools":[{"name":"get_weather","description":"The weather in a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},{"name":"get_time","input_schema":{"type":"object","properties":{"timezone":{"type":"string"}}}},{"name":"get_status","input_schema":{"type":"object"}}]"""
            : "";
        var response = await _f.PostAsync("v1/messages", MessagesFixture.AdminToken,
            $$"""{"model":"{{model}}","max_tokens":256,"stream":true{{toolsJson}},"messages":[{"role":"user","content":"Weather and time in Paris?"}]}""");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return body;
    }

    private static MessageCreateParams FollowUp(string model, Message first, List<ToolUseBlock> uses, string[] results, IReadOnlyList<ToolUnion> tools)
    {
        var assistant = new List<ContentBlockParam>();
        foreach (var block in first.Content)
        {
            if (block.TryPickText(out var text))
            {
                assistant.Add(new TextBlockParam(text!.Text));
            }
            else if (block.TryPickToolUse(out var use))
            {
                assistant.Add(new ToolUseBlockParam { ID = use!.ID, Name = use.Name, Input = use.Input });
            }
        }

        var answers = uses.Select((u, i) => (ContentBlockParam)new ToolResultBlockParam(u.ID) { Content = results[i] }).ToList();
        return new MessageCreateParams
        {
            Model = model,
            MaxTokens = 256,
            System = "Be brief.",
            Tools = tools,
            Messages = [new UserMessageParam("Weather and time in Paris?"), new AssistantMessageParam(assistant), new UserMessageParam(answers)],
        };
    }

    private static async IAsyncEnumerable<RawMessageStreamEvent> ToAsync(IEnumerable<RawMessageStreamEvent> events)
    {
        foreach (var e in events)
        {
            yield return e;
        }

        await Task.CompletedTask;
    }
}
