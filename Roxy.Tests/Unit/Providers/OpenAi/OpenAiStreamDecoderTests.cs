using System.Buffers;
using System.Text;
using Roxy.Api.Protocols;
using Roxy.Api.Providers;
using Roxy.Api.Providers.OpenAi;

namespace Roxy.Tests.Unit.Providers.OpenAi;

public sealed class OpenAiStreamDecoderTests
{
    private static readonly string Streams = Path.Combine(AppContext.BaseDirectory, "TestData", "openai", "streams");

    private readonly OpenAiStreamDecoder _decoder = new();
    private readonly List<ChatEvent> _events = [];

    private UpstreamEventKind Decode(string sseEvent)
    {
        _events.Clear();
        return _decoder.Decode(Encoding.UTF8.GetBytes(sseEvent), _events);
    }

    private UpstreamEventKind Data(string json) => Decode("data: " + json + "\n\n");

    private static string Chunk(string delta, string finish = "null") =>
        $$"""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{{delta}},"logprobs":null,"finish_reason":{{finish}}}]}""";

    /// <summary>Every event of a recorded stream, decoded with events (as for an Anthropic client).</summary>
    private static List<(UpstreamEventKind Kind, List<ChatEvent> Events)> DecodeAll(string name, bool withEvents = true)
    {
        var decoder = new OpenAiStreamDecoder();
        var result = new List<(UpstreamEventKind, List<ChatEvent>)>();
        var buffer = new ReadOnlySequence<byte>(File.ReadAllBytes(Path.Combine(Streams, name + ".sse")));
        while (SseEvent.TryRead(ref buffer, out var evt))
        {
            var events = withEvents ? new List<ChatEvent>() : null;
            result.Add((decoder.Decode(evt.ToArray(), events), events ?? []));
        }

        return result;
    }

    [Fact]
    public void Text_stream_becomes_start_text_finish_and_usage()
    {
        var decoded = DecodeAll("text");

        Assert.Equal(
            [
                ChatEvent.Started("chatcmpl-C0n8XJt2Vq7Yk3Rr9pLmA1bC2dE3f", "gpt-4o-mini-2024-07-18"),
                ChatEvent.TextDelta("Hello"), ChatEvent.TextDelta("!"), ChatEvent.TextDelta(" How"), ChatEvent.TextDelta(" can"),
                ChatEvent.TextDelta(" I"), ChatEvent.TextDelta(" help"), ChatEvent.TextDelta(" you"), ChatEvent.TextDelta(" today"),
                ChatEvent.TextDelta("?"),
                ChatEvent.Finished(FinishReason.Stop),
                ChatEvent.UsageReported(new TokenUsage(19, 10)),
            ],
            decoded.SelectMany(d => d.Events));
        Assert.Equal(UpstreamEventKind.UsageOnly, decoded[^2].Kind);
        Assert.Equal(UpstreamEventKind.Done, decoded[^1].Kind);
        Assert.All(decoded.SkipLast(2), d => Assert.Equal(UpstreamEventKind.Content, d.Kind));
    }

    [Fact]
    public void Tool_call_fragments_carry_the_id_and_name_first_then_the_arguments()
    {
        var events = DecodeAll("text-then-tool").SelectMany(d => d.Events).ToList();

        var start = events.IndexOf(ChatEvent.ToolCallStarted(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather"));
        Assert.True(start > 0);
        Assert.Equal(ChatEvent.TextDelta(" weather."), events[start - 1]);
        var arguments = events.Skip(start + 1).TakeWhile(e => e.Kind == ChatEventKind.ToolCallArguments).ToList();
        Assert.All(arguments, a => Assert.Equal(0, a.ToolIndex));
        Assert.Equal("""{"location":"Paris, France"}""", string.Concat(arguments.Select(a => a.Text)));
        Assert.Equal(ChatEvent.Finished(FinishReason.ToolCalls), events[start + 1 + arguments.Count]);
    }

    [Fact]
    public void Parallel_tool_calls_keep_their_own_numbers_and_arguments()
    {
        var events = DecodeAll("interleaved-tools").SelectMany(d => d.Events).ToList();

        Assert.Equal(
            [ChatEvent.ToolCallStarted(0, "call_a1", "read_file"), ChatEvent.ToolCallStarted(1, "call_b2", "read_file")],
            events.Where(e => e.Kind == ChatEventKind.ToolCallStart));
        Assert.Equal("""{"path":"src/a.cs"}""", string.Concat(events.Where(e => e is { Kind: ChatEventKind.ToolCallArguments, ToolIndex: 0 }).Select(e => e.Text)));
        Assert.Equal("""{"path":"src/b.cs"}""", string.Concat(events.Where(e => e is { Kind: ChatEventKind.ToolCallArguments, ToolIndex: 1 }).Select(e => e.Text)));
        // Finish and usage in one chunk: the usage is not usage-only, the chunk is content.
        Assert.Equal(ChatEvent.UsageReported(new TokenUsage(300, 40)), events[^1]);
    }

    [Fact]
    public void Tool_calls_are_numbered_by_first_appearance_whatever_the_provider_index()
    {
        Data(Chunk("""{"role":"assistant"}"""));
        Data(Chunk("""{"tool_calls":[{"index":3,"id":"call_x","type":"function","function":{"name":"a","arguments":"{}"}}]}"""));
        Assert.Equal([ChatEvent.ToolCallStarted(0, "call_x", "a"), ChatEvent.ToolCallArguments(0, "{}")], _events);

        Data(Chunk("""{"tool_calls":[{"index":7,"id":"call_y","type":"function","function":{"name":"b","arguments":""}}]}"""));
        Assert.Equal([ChatEvent.ToolCallStarted(1, "call_y", "b")], _events);

        Data(Chunk("""{"tool_calls":[{"index":3,"function":{"arguments":" "}},{"index":7,"function":{"arguments":"{\"k\":1}"}}]}"""));
        Assert.Equal([ChatEvent.ToolCallArguments(0, " "), ChatEvent.ToolCallArguments(1, """{"k":1}""")], _events);
    }

    [Fact]
    public void A_new_id_under_a_known_index_is_a_new_call_and_a_fragment_without_index_follows_its_id()
    {
        Data(Chunk("""{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"a","arguments":"{\"x\":1}"}}]}"""));
        // Providers that number every call 0.
        Data(Chunk("""{"tool_calls":[{"index":0,"id":"call_2","function":{"name":"b","arguments":"{"}}]}"""));
        Assert.Equal([ChatEvent.ToolCallStarted(1, "call_2", "b"), ChatEvent.ToolCallArguments(1, "{")], _events);
        Data(Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}"""));
        Assert.Equal([ChatEvent.ToolCallArguments(1, "}")], _events);

        Data(Chunk("""{"tool_calls":[{"id":"call_1","function":{"arguments":" "}}]}"""));
        Assert.Equal([ChatEvent.ToolCallArguments(0, " ")], _events);
        Data(Chunk("""{"tool_calls":[{"function":{"arguments":"  "}}]}"""));
        Assert.Equal([ChatEvent.ToolCallArguments(1, "  ")], _events);
    }

    [Fact]
    public void Usage_chunk_reports_cached_prompt_tokens()
    {
        var decoded = DecodeAll("cached-length");

        Assert.Equal(UpstreamEventKind.UsageOnly, decoded[^2].Kind);
        Assert.Equal([ChatEvent.UsageReported(new TokenUsage(2006, 5, 1920))], decoded[^2].Events);
        Assert.Contains(ChatEvent.Finished(FinishReason.Length), decoded.SelectMany(d => d.Events));
    }

    [Fact]
    public void Usage_is_known_to_the_relay_with_its_cached_tokens()
    {
        Data("""{"id":"c","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107,"prompt_tokens_details":{"cached_tokens":64}}}""");

        Assert.True(_decoder.UsageKnown);
        Assert.Equal(new TokenUsage(100, 7, 64), _decoder.Usage);
    }

    [Fact]
    public void Reasoning_deltas_are_skipped_but_still_count_as_content()
    {
        var decoded = DecodeAll("reasoning");

        Assert.DoesNotContain(decoded.SelectMany(d => d.Events), e => e.Kind == ChatEventKind.TextDelta && e.Text!.Contains("user", StringComparison.Ordinal));
        Assert.Equal("2 + 2 = 4.", string.Concat(decoded.SelectMany(d => d.Events).Where(e => e.Kind == ChatEventKind.TextDelta).Select(e => e.Text)));
        // The comment is nothing; every reasoning chunk keeps the stream alive as today.
        Assert.Equal(UpstreamEventKind.Empty, decoded[1].Kind);
        Assert.All(decoded.Skip(2).Take(3), d => Assert.Equal(UpstreamEventKind.Content, d.Kind));
    }

    [Fact]
    public void Error_chunk_is_an_error_with_the_openai_type_and_message()
    {
        var decoded = DecodeAll("error-mid-stream");

        Assert.Equal(UpstreamEventKind.Error, decoded[^1].Kind);
        Assert.Equal([ChatEvent.Failed("server_error", "The server had an error while processing your request. Sorry about that!")], decoded[^1].Events);
    }

    [Fact]
    public void Error_event_and_an_error_field_later_in_a_chunk_are_errors()
    {
        Assert.Equal(UpstreamEventKind.Error, Decode("event: error\ndata: {\"error\":{\"message\":\"Too many requests\",\"type\":\"tokens\",\"code\":\"rate_limit_exceeded\"}}\n\n"));
        Assert.Equal([ChatEvent.Failed("rate_limit_exceeded", "Too many requests")], _events);

        var decoded = DecodeAll("openrouter-error");
        Assert.Equal(UpstreamEventKind.Error, decoded[^1].Kind);
        Assert.Equal([ChatEvent.Failed("server_error", "Provider returned error")], decoded[^1].Events);

        Assert.Equal(UpstreamEventKind.Error, Data(Chunk("""{"content":""}""", "\"error\"")));
        Assert.Equal(ChatEventKind.Error, Assert.Single(_events).Kind);
    }

    [Fact]
    public void An_error_null_field_is_no_error()
    {
        Assert.Equal(UpstreamEventKind.Content, Data("""{"id":"c","model":"m","error":null,"choices":[{"index":0,"delta":{"content":"ok"}}]}"""));
        Assert.Equal([ChatEvent.Started("c", "m"), ChatEvent.TextDelta("ok")], _events);
    }

    [Theory]
    [InlineData("""{"error":{"message":"Incorrect API key provided: sk-proj-abcd****************wxyz. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""")]
    [InlineData("""{"error":{"message":"You exceeded your current quota for org-Zq81XyZ, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}""")]
    [InlineData("""{"error":{"message":"Key sk-or-v1-5f3e... is disabled","code":401}}""")]
    public void Error_messages_that_may_quote_the_key_are_replaced(string json)
    {
        Assert.Equal(UpstreamEventKind.Error, Data(json));

        var error = Assert.Single(_events);
        Assert.Equal(ChatEventKind.Error, error.Kind);
        Assert.StartsWith("The provider failed while answering", error.Text);
        Assert.DoesNotContain("sk-", error.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("org-", error.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\n\n")]
    [InlineData("data: not json\n\n")]
    [InlineData("data: {\"choices\":[]} trailing\n\n")]
    [InlineData("data: [1,2]\n\n")]
    [InlineData("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\ud800\"}}]}\n\n")]
    public void Malformed_json_is_an_error_never_a_throw(string sseEvent)
    {
        Assert.Equal(UpstreamEventKind.Error, Decode(sseEvent));

        Assert.Equal([ChatEvent.Failed("server_error", "The provider sent a malformed stream event.")], _events);
    }

    [Fact]
    public void Only_the_first_choice_is_the_answer()
    {
        Data("""{"id":"c","model":"m","choices":[{"index":1,"delta":{"content":"other","tool_calls":[{"index":0,"id":"t","function":{"name":"n"}}]}},{"index":0,"delta":{"content":"mine"}}]}""");

        Assert.Equal([ChatEvent.Started("c", "m"), ChatEvent.TextDelta("mine")], _events);
    }

    [Fact]
    public void Comments_and_empty_events_say_nothing_and_the_end_marker_is_done()
    {
        Assert.Equal(UpstreamEventKind.Empty, Decode(": OPENROUTER PROCESSING\n\n"));
        Assert.Equal(UpstreamEventKind.Empty, Decode("data:\n\n"));
        Assert.Equal(UpstreamEventKind.Done, Decode("data: [DONE]\n\n"));
        Assert.Empty(_events);
    }

    [Fact]
    public void The_start_is_said_once_with_the_first_chunk()
    {
        Data(Chunk("""{"role":"assistant","content":""}"""));
        Assert.Equal([ChatEvent.Started("chatcmpl-1", "gpt-4o-mini")], _events);
        Data(Chunk("""{"content":"a"}"""));
        Assert.Equal([ChatEvent.TextDelta("a")], _events);
    }

    [Fact]
    public void A_refusal_delta_is_the_text_the_user_is_shown()
    {
        Data(Chunk("""{"content":null,"refusal":"I can't help with that."}"""));

        Assert.Contains(ChatEvent.TextDelta("I can't help with that."), _events);
    }

    public static TheoryData<string> Transcripts() =>
        [.. Directory.GetFiles(Streams, "*.sse").Where(f => !f.EndsWith(".expected.sse", StringComparison.Ordinal)).Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal)];

    /// <summary>
    /// The relay commits, counts and ends on the kind alone: both modes must agree on it. The one exception is an
    /// error the pass-through check does not look for (not first in its chunk), which an OpenAI client reads itself.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transcripts))]
    public void Both_modes_give_every_event_the_same_kind(string name)
    {
        var passThrough = DecodeAll(name, withEvents: false);
        var decoded = DecodeAll(name);

        Assert.Equal(passThrough.Count, decoded.Count);
        for (var i = 0; i < decoded.Count; i++)
        {
            var expected = name == "openrouter-error" && i == decoded.Count - 1 ? UpstreamEventKind.Error : passThrough[i].Kind;
            Assert.True(expected == decoded[i].Kind, $"{name} event {i}: {decoded[i].Kind}, pass-through {passThrough[i].Kind}");
        }

        Assert.Empty(passThrough.SelectMany(p => p.Events));
    }

    [Fact]
    public void Pass_through_reads_the_usage_with_its_cached_part()
    {
        var decoder = new OpenAiStreamDecoder();
        var kind = decoder.Decode("data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":64}}}\n\n"u8, null);

        Assert.Equal(UpstreamEventKind.UsageOnly, kind);
        Assert.True(decoder.UsageKnown);
        Assert.Equal(new TokenUsage(100, 7, 64), decoder.Usage);
        Assert.Equal(UpstreamEventKind.Content, decoder.Decode("data: not json\n\n"u8, null));
        Assert.Equal(UpstreamEventKind.Error, decoder.Decode("data: {\"error\":{\"message\":\"x\"}}\n\n"u8, null));
    }
}
