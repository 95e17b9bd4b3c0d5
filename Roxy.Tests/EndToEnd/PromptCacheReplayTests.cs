using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Models.Messages;
using OpenAI.Chat;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// One entry serves both modes and both protocols (issue 10 item 3): a JSON answer replays as a well-formed stream and
/// a stream as a JSON answer, read back by the official OpenAI and Anthropic SDKs, tool calls included, with a fresh
/// id; the upstream is called once.
/// </summary>
[Collection(CacheGroup.Name)]
public sealed class PromptCacheReplayTests
{
    private static readonly ChatTool Weather = ChatTool.CreateFunctionTool(
        "get_weather", "The weather in a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));

    private static readonly Tool AnthropicWeather = new()
    {
        Name = "get_weather",
        Description = "The weather in a city",
        InputSchema = new InputSchema
        {
            Properties = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }) },
            Required = ["city"],
        },
    };

    private static readonly Tool AnthropicTime = new()
    {
        Name = "get_time",
        Description = "The time in a timezone",
        InputSchema = new InputSchema { Properties = new Dictionary<string, JsonElement> { ["timezone"] = JsonSerializer.SerializeToElement(new { type = "string" }) } },
    };

    private readonly CacheFixture _f;

    public PromptCacheReplayTests(CacheFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private sealed record Streamed(string Text, SortedDictionary<int, (string? Id, string? Name, string Arguments)> Calls, ChatFinishReason? Finish, string? Id, DateTimeOffset? Created, ChatTokenUsage? Usage);

    private static async Task<Streamed> StreamAsync(ChatClient chat, string prompt, ChatCompletionOptions options)
    {
        var text = "";
        var calls = new SortedDictionary<int, (string? Id, string? Name, string Arguments)>();
        ChatFinishReason? finish = null;
        string? id = null;
        DateTimeOffset? created = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(prompt)], options))
        {
            text += string.Concat(update.ContentUpdate.Select(p => p.Text));
            foreach (var call in update.ToolCallUpdates)
            {
                var (callId, name, arguments) = calls.GetValueOrDefault(call.Index, (null, null, ""));
                calls[call.Index] = (callId ?? call.ToolCallId, name ?? call.FunctionName, arguments + call.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
            id ??= update.CompletionId;
            created ??= update.CreatedAt;
            usage ??= update.Usage;
        }

        return new Streamed(text, calls, finish, id, created, usage);
    }

    [Fact]
    public async Task A_json_answer_replays_through_the_sdk_as_a_stream_with_its_tool_call_and_a_fresh_id()
    {
        var prompt = CacheFixture.Marker("json-then-stream");
        var log = new CacheHeaderLog();
        var chat = _f.Chat(CacheFixture.Tools, CacheFixture.AdminToken, log);
        var options = new ChatCompletionOptions { Tools = { Weather } };

        ChatCompletion first = await chat.CompleteChatAsync([new UserChatMessage(prompt)], options);
        var replayed = await StreamAsync(chat, prompt, new ChatCompletionOptions { Tools = { Weather } });

        Assert.Equal(["miss", "hit"], log.Values);
        Assert.Equal(1, _f.UpstreamCalls(prompt));
        Assert.Equal("Let me look that up.", first.Content[0].Text);
        Assert.Equal(first.Content[0].Text, replayed.Text);
        var call = Assert.Single(replayed.Calls);
        Assert.Equal(0, call.Key);
        Assert.Equal(first.ToolCalls[0].Id, call.Value.Id);
        Assert.Equal("get_weather", call.Value.Name);
        Assert.Equal("Paris", JsonNode.Parse(call.Value.Arguments)!["city"]!.GetValue<string>());
        Assert.Equal(first.ToolCalls[0].FunctionArguments.ToString(), call.Value.Arguments);
        Assert.Equal(ChatFinishReason.ToolCalls, replayed.Finish);
        Assert.NotNull(replayed.Id);
        Assert.NotEqual(first.Id, replayed.Id);
        Assert.True(replayed.Created >= first.CreatedAt, $"replayed created {replayed.Created} before the original's {first.CreatedAt}");
        if (replayed.Usage is { } usage)
        {
            Assert.Equal(first.Usage.InputTokenCount, usage.InputTokenCount);
            Assert.Equal(first.Usage.OutputTokenCount, usage.OutputTokenCount);
        }
    }

    [Fact]
    public async Task A_replayed_stream_is_well_formed_and_carries_usage_only_when_asked()
    {
        var prompt = CacheFixture.Marker("wire-replay");
        var json = await _f.Roxy.PostChatAsync(CacheFixture.AdminToken, Body(prompt, stream: null));
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal("miss", CacheHeader(json));
        var answer = JsonNode.Parse(await json.Content.ReadAsStringAsync())!;
        var text = answer["choices"]![0]!["message"]!["content"]!.GetValue<string>();

        var plain = await _f.Roxy.PostChatAsync(CacheFixture.AdminToken, Body(prompt, stream: "true"));
        var withUsage = await _f.Roxy.PostChatAsync(CacheFixture.AdminToken, Body(prompt, stream: """true,"stream_options":{"include_usage":true}"""));

        Assert.Equal(1, _f.UpstreamCalls(prompt));
        foreach (var response in new[] { plain, withUsage })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("hit", CacheHeader(response));
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        }

        var lines = CacheFixture.DataLines(await plain.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", lines[^1]);
        var chunks = lines[..^1].Select(l => JsonNode.Parse(l)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c["object"]!.GetValue<string>()));
        var id = Assert.Single(chunks.Select(c => c["id"]!.GetValue<string>()).Distinct());
        Assert.NotEqual(answer["id"]!.GetValue<string>(), id);
        Assert.All(chunks, c => Assert.Null(c["usage"]));
        Assert.Equal("assistant", chunks[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        var deltas = chunks.Select(c => c["choices"]![0]!["delta"]?["content"]?.GetValue<string>()).Where(t => !string.IsNullOrEmpty(t)).ToList();
        Assert.True(deltas.Count >= 2, $"content came in {deltas.Count} delta(s); a replay streams it in several");
        Assert.Equal(text, string.Concat(deltas));
        Assert.Equal("stop", chunks[^1]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.All(chunks[..^1], c => Assert.Null(c["choices"]![0]!["finish_reason"]));

        var usageLines = CacheFixture.DataLines(await withUsage.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", usageLines[^1]);
        var last = JsonNode.Parse(usageLines[^2])!;
        Assert.Empty(last["choices"]!.AsArray());
        Assert.Equal(answer["usage"]!["prompt_tokens"]!.GetValue<long>(), last["usage"]!["prompt_tokens"]!.GetValue<long>());
        Assert.Equal(answer["usage"]!["completion_tokens"]!.GetValue<long>(), last["usage"]!["completion_tokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_stream_assembled_in_passing_serves_a_later_json_request_through_the_sdk()
    {
        var prompt = CacheFixture.Marker("stream-then-json");
        var log = new CacheHeaderLog();
        var chat = _f.Chat(CacheFixture.Tools, CacheFixture.AdminToken, log);

        var streamed = await StreamAsync(chat, prompt, new ChatCompletionOptions { Tools = { Weather } });
        ChatCompletion replayed = await chat.CompleteChatAsync([new UserChatMessage(prompt)], new ChatCompletionOptions { Tools = { Weather } });

        Assert.Equal(["miss", "hit"], log.Values);
        Assert.Equal(1, _f.UpstreamCalls(prompt));
        Assert.Equal("Let me look that up.", streamed.Text);
        Assert.Equal(streamed.Text, replayed.Content[0].Text);
        var call = Assert.Single(replayed.ToolCalls);
        Assert.Equal(streamed.Calls[0].Id, call.Id);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal(streamed.Calls[0].Arguments, call.FunctionArguments.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, replayed.FinishReason);
        Assert.NotEqual(streamed.Id, replayed.Id);
        Assert.True(replayed.CreatedAt >= streamed.Created);
        if (streamed.Usage is { } usage)
        {
            Assert.Equal(usage.InputTokenCount, replayed.Usage.InputTokenCount);
            Assert.Equal(usage.OutputTokenCount, replayed.Usage.OutputTokenCount);
        }
    }

    [Theory]
    [InlineData(CacheFixture.PassThroughTools)]
    [InlineData(CacheFixture.TranslatedTools)]
    public async Task A_messages_json_answer_replays_as_the_anthropic_event_sequence(string model)
    {
        var prompt = CacheFixture.Marker("messages-json-then-stream");
        var log = new CacheHeaderLog();
        var sdk = _f.Messages(CacheFixture.AdminToken, log);

        var first = await sdk.Messages.Create(Ask(model, prompt));
        var events = new List<RawMessageStreamEvent>();
        await foreach (var e in sdk.Messages.CreateStreaming(Ask(model, prompt)))
        {
            events.Add(e);
        }

        Assert.Equal(["miss", "hit"], log.Values);
        Assert.Equal(1, _f.UpstreamCalls(prompt));
        Assert.True(events[0].TryPickStart(out var start), "message_start comes first");
        Assert.NotEqual(first.ID, start!.Message.ID);
        Assert.StartsWith("msg_", start.Message.ID, StringComparison.Ordinal);
        // A replay knows its prompt: message_start states the input the answer reported, not an estimate.
        Assert.Equal(first.Usage.InputTokens, start.Message.Usage.InputTokens);
        Assert.True(events[^1].TryPickStop(out _), "message_stop comes last");
        Assert.True(events[^2].TryPickDelta(out var delta), "message_delta comes right before message_stop");
        Assert.Equal(first.StopReason!.Raw(), delta!.Delta.StopReason!.Raw());
        Assert.Equal(events.Count(e => e.TryPickContentBlockStart(out _)), events.Count(e => e.TryPickContentBlockStop(out _)));

        var replayed = await ToAsync(events).Aggregate();
        Assert.Equal(Text(first), Text(replayed));
        Assert.NotEmpty(Text(first));
        Assert.Equal(ToolUses(first).Select(u => (u.ID, u.Name, JsonSerializer.Serialize(u.Input))), ToolUses(replayed).Select(u => (u.ID, u.Name, JsonSerializer.Serialize(u.Input))));
        Assert.NotEmpty(ToolUses(first));
        Assert.Equal("tool_use", replayed.StopReason!.Raw());
        Assert.Equal(first.Usage.OutputTokens, replayed.Usage.OutputTokens);
    }

    [Theory]
    [InlineData(CacheFixture.PassThrough)]
    [InlineData(CacheFixture.Translated)]
    [InlineData(CacheFixture.PassThroughTools)]
    public async Task A_messages_stream_serves_a_later_json_request(string model)
    {
        var prompt = CacheFixture.Marker("messages-stream-then-json");
        var log = new CacheHeaderLog();
        var sdk = _f.Messages(CacheFixture.AdminToken, log);

        var events = new List<RawMessageStreamEvent>();
        await foreach (var e in sdk.Messages.CreateStreaming(Ask(model, prompt)))
        {
            events.Add(e);
        }

        var streamed = await ToAsync(events).Aggregate();
        var replayed = await sdk.Messages.Create(Ask(model, prompt));

        Assert.Equal(["miss", "hit"], log.Values);
        Assert.Equal(1, _f.UpstreamCalls(prompt));
        Assert.NotEmpty(Text(streamed));
        Assert.Equal(Text(streamed), Text(replayed));
        Assert.Equal(ToolUses(streamed).Select(u => (u.ID, u.Name, JsonSerializer.Serialize(u.Input))), ToolUses(replayed).Select(u => (u.ID, u.Name, JsonSerializer.Serialize(u.Input))));
        Assert.Equal(streamed.StopReason!.Raw(), replayed.StopReason!.Raw());
        Assert.NotEqual(streamed.ID, replayed.ID);
        Assert.Equal("message", replayed.Type.GetString());
        Assert.Equal(streamed.Usage.OutputTokens, replayed.Usage.OutputTokens);
    }

    [Fact]
    public async Task A_raw_messages_replay_is_a_complete_event_stream_with_the_cache_header()
    {
        var prompt = CacheFixture.Marker("messages-wire");
        var body = $$"""{"model":"{{CacheFixture.PassThrough}}","max_tokens":64,"messages":[{"role":"user","content":"{{prompt}}"}]}""";
        var json = await _f.PostMessagesAsync(CacheFixture.AdminToken, body);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal("miss", CacheHeader(json));
        var text = JsonNode.Parse(await json.Content.ReadAsStringAsync())!["content"]![0]!["text"]!.GetValue<string>();

        var stream = await _f.PostMessagesAsync(CacheFixture.AdminToken, body.Replace("\"max_tokens\":64", "\"max_tokens\":64,\"stream\":true", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("hit", CacheHeader(stream));
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        var events = CacheFixture.EventNames(await stream.Content.ReadAsStringAsync());
        Assert.Equal("message_start", events[0]);
        Assert.Equal(["content_block_start"], events.Skip(1).Take(1));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], events.TakeLast(3));
        Assert.True(events.Count(e => e == "content_block_delta") >= 2, "the text is replayed in several deltas");
        Assert.Equal(1, _f.UpstreamCalls(prompt));
        Assert.NotEmpty(text);
    }

    private static string Body(string prompt, string? stream) =>
        $$"""{"model":"{{CacheFixture.Text}}","messages":[{"role":"user","content":"{{prompt}}"}]{{(stream is null ? "" : ",\"stream\":" + stream)}}}""";

    private static string? CacheHeader(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-roxy-cache", out var values) ? values.Single() : null;

    private static MessageCreateParams Ask(string model, string text) => new()
    {
        Model = model,
        MaxTokens = 256,
        Messages = [new UserMessageParam(text)],
        Tools = [AnthropicWeather, AnthropicTime],
    };

    private static string Text(Message message) =>
        string.Concat(message.Content.Select(b => b.Value).OfType<TextBlock>().Select(t => t.Text));

    private static List<ToolUseBlock> ToolUses(Message message) => [.. message.Content.Select(b => b.Value).OfType<ToolUseBlock>()];

    private static async IAsyncEnumerable<RawMessageStreamEvent> ToAsync(IEnumerable<RawMessageStreamEvent> events)
    {
        foreach (var e in events)
        {
            yield return e;
        }

        await Task.CompletedTask;
    }
}
