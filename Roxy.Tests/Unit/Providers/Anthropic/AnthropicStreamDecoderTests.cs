using System.Text;
using Roxy.Api.Protocols;
using Roxy.Api.Providers;
using Roxy.Api.Providers.Anthropic;

namespace Roxy.Tests.Unit.Providers.Anthropic;

public sealed class AnthropicStreamDecoderTests
{
    private const string MessageStart =
        """{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":10,"cache_creation_input_tokens":4,"cache_read_input_tokens":6,"output_tokens":1}}}""";

    private readonly AnthropicStreamDecoder _decoder = new();
    private readonly List<ChatEvent> _events = [];

    private UpstreamEventKind Decode(string name, string data)
    {
        _events.Clear();
        return _decoder.Decode(Encoding.UTF8.GetBytes($"event: {name}\ndata: {data}\n\n"), _events);
    }

    private UpstreamEventKind Text(string text) =>
        Decode("content_block_delta", $$$"""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"{{{text}}}"}}""");

    [Fact]
    public void Message_start_says_nothing_until_the_first_content_which_carries_the_start()
    {
        Assert.Equal(UpstreamEventKind.Empty, Decode("message_start", MessageStart));
        Assert.Empty(_events);
        Assert.Equal(UpstreamEventKind.Empty, Decode("ping", """{"type": "ping"}"""));
        Assert.Equal(UpstreamEventKind.Empty, Decode("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""));

        Assert.Equal(UpstreamEventKind.Content, Text("Hi"));
        Assert.Equal([ChatEvent.Started("msg_1", "claude-x"), ChatEvent.TextDelta("Hi")], _events);

        Assert.Equal(UpstreamEventKind.Content, Text(" there"));
        Assert.Equal([ChatEvent.TextDelta(" there")], _events);
    }

    [Fact]
    public void Output_tokens_in_message_delta_are_cumulative_not_summed()
    {
        Decode("message_start", MessageStart);
        Assert.False(_decoder.UsageKnown, "the input counts alone are not the answer's usage");
        Text("Hi");
        Decode("message_delta", """{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":5}}""");
        Assert.Equal(UpstreamEventKind.Content, Decode("message_delta", """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}"""));

        Assert.True(_decoder.UsageKnown);
        // Prompt = input + cache creation + cache read; cached = cache read.
        Assert.Equal(new TokenUsage(20, 9, 6), _decoder.Usage);
        Assert.Equal([ChatEvent.UsageReported(new TokenUsage(20, 9, 6)), ChatEvent.Finished(FinishReason.Stop)], _events);
        Assert.Equal(UpstreamEventKind.Done, Decode("message_stop", """{"type":"message_stop"}"""));
        Assert.Empty(_events);
    }

    [Fact]
    public void Message_delta_replaces_only_the_counts_it_names()
    {
        Decode("message_start", MessageStart);
        Decode("message_delta", """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":12,"output_tokens":3}}""");

        Assert.Equal(new TokenUsage(22, 3, 6), _decoder.Usage);
    }

    [Theory]
    [InlineData("end_turn", FinishReason.Stop)]
    [InlineData("stop_sequence", FinishReason.Stop)]
    [InlineData("pause_turn", FinishReason.Stop)]
    [InlineData("max_tokens", FinishReason.Length)]
    [InlineData("tool_use", FinishReason.ToolCalls)]
    [InlineData("refusal", FinishReason.ContentFilter)]
    public void Stop_reasons_map_to_openai_finish_reasons(string stopReason, FinishReason expected)
    {
        Decode("message_start", MessageStart);
        Decode("message_delta", $$$"""{"type":"message_delta","delta":{"stop_reason":"{{{stopReason}}}"},"usage":{"output_tokens":1}}""");

        Assert.Equal(ChatEvent.Finished(expected), _events[^1]);
    }

    [Fact]
    public void Tool_calls_are_numbered_by_tool_use_blocks_and_empty_fragments_are_skipped()
    {
        Decode("message_start", MessageStart);
        Text("Checking.");
        Decode("content_block_stop", """{"type":"content_block_stop","index":0}""");
        // A thinking block between them has a block index too; it must not shift the tool numbers.
        Decode("content_block_start", """{"type":"content_block_start","index":1,"content_block":{"type":"thinking","thinking":""}}""");
        Assert.Equal(UpstreamEventKind.Empty, Decode("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"thinking_delta","thinking":"hmm"}}"""));
        Assert.Empty(_events);
        Decode("content_block_stop", """{"type":"content_block_stop","index":1}""");

        Assert.Equal(UpstreamEventKind.Content, Decode("content_block_start", """{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_a","name":"f","input":{}}}"""));
        Assert.Equal([ChatEvent.ToolCallStarted(0, "toolu_a", "f")], _events);
        Assert.Equal(UpstreamEventKind.Empty, Decode("content_block_delta", """{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}"""));
        Decode("content_block_delta", """{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}""");
        Assert.Equal([ChatEvent.ToolCallArguments(0, """{"a":1}""")], _events);
        Assert.Equal(UpstreamEventKind.Empty, Decode("content_block_stop", """{"type":"content_block_stop","index":2}"""));

        Decode("content_block_start", """{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_b","name":"g","input":{}}}""");
        Assert.Equal([ChatEvent.ToolCallStarted(1, "toolu_b", "g")], _events);
        // No fragment at all: "{}" at the block's end, so the arguments parse.
        Assert.Equal(UpstreamEventKind.Content, Decode("content_block_stop", """{"type":"content_block_stop","index":3}"""));
        Assert.Equal([ChatEvent.ToolCallArguments(1, "{}")], _events);
    }

    [Fact]
    public void A_tool_use_block_that_already_carries_its_input_says_it_at_once()
    {
        Decode("message_start", MessageStart);
        Decode("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"f","input":{ "city" : "Zürich" }}}""");

        Assert.Equal([ChatEvent.Started("msg_1", "claude-x"), ChatEvent.ToolCallStarted(0, "toolu_a", "f"), ChatEvent.ToolCallArguments(0, """{"city":"Zürich"}""")], _events);
        Assert.Equal(UpstreamEventKind.Empty, Decode("content_block_stop", """{"type":"content_block_stop","index":0}"""));
    }

    [Fact]
    public void Error_event_is_an_error_with_an_openai_error_type()
    {
        Decode("message_start", MessageStart);
        Text("Hi");

        Assert.Equal(UpstreamEventKind.Error, Decode("error", """{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"""));
        Assert.Equal([ChatEvent.Failed("server_error", "Overloaded")], _events);
        Assert.Equal(UpstreamEventKind.Error, Decode("error", """{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"""));
        Assert.Equal([ChatEvent.Failed("rate_limit_error", "slow down")], _events);
    }

    [Fact]
    public void Errors_about_the_key_are_restated_in_roxys_words()
    {
        Assert.Equal(UpstreamEventKind.Error, Decode("error", """{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key sk-ant-abc"}}"""));
        var failed = Assert.Single(_events);
        Assert.Equal("authentication_error", failed.ErrorType);
        Assert.DoesNotContain("sk-ant", failed.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"unterminated}}""")]
    [InlineData("content_block_delta", """{"type":"content_block_delta"} trailing""")]
    [InlineData("message_delta", "[1,2,3]")]
    [InlineData("message_delta", "not json")]
    [InlineData("error", "")]
    public void Malformed_events_are_errors_never_exceptions(string name, string data)
    {
        Decode("message_start", MessageStart);
        Text("Hi");

        Assert.Equal(UpstreamEventKind.Error, Decode(name, data));
        Assert.Equal(ChatEventKind.Error, Assert.Single(_events).Kind);
    }

    [Theory]
    [InlineData("""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\uD800"}}""")]
    [InlineData("""{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"f","input":{"a":"\uDC00x"}}}""")]
    [InlineData("""{"type":"error","error":{"type":"api_error","message":"\uD800"}}""")]
    public void Broken_unicode_is_an_error_never_an_exception(string data)
    {
        Decode("message_start", MessageStart);
        Text("Hi");

        Assert.Equal(UpstreamEventKind.Error, Decode("content_block_delta", data));
        Assert.Equal(ChatEventKind.Error, Assert.Single(_events).Kind);
    }

    [Fact]
    public void Invalid_utf8_is_an_error_never_an_exception()
    {
        Decode("message_start", MessageStart);
        var evt = Encoding.UTF8.GetBytes("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ab\"}}\n\n");
        evt[evt.AsSpan().IndexOf("\"ab\""u8) + 1] = 0xC3;
        _events.Clear();

        Assert.Equal(UpstreamEventKind.Error, _decoder.Decode(evt, _events));
    }

    [Fact]
    public void Unknown_event_types_and_comments_are_skipped()
    {
        Assert.Equal(UpstreamEventKind.Empty, Decode("some_future_event", """{"type":"some_future_event","x":1}"""));
        _events.Clear();
        Assert.Equal(UpstreamEventKind.Empty, _decoder.Decode(": keep-alive\n\n"u8, _events));
        Assert.Empty(_events);
    }

    [Fact]
    public void Crlf_framing_and_a_type_only_in_the_data_are_read_the_same()
    {
        _decoder.Decode(Encoding.UTF8.GetBytes($"event: message_start\r\ndata: {MessageStart}\r\n\r\n"), _events);
        _events.Clear();

        var kind = _decoder.Decode("data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n\r\n"u8, _events);

        Assert.Equal(UpstreamEventKind.Content, kind);
        Assert.Equal([ChatEvent.Started("msg_1", "claude-x"), ChatEvent.TextDelta("Hi")], _events);
    }

    [Fact]
    public void Answer_without_content_still_starts_and_finishes()
    {
        Decode("message_start", MessageStart);
        Assert.Equal(UpstreamEventKind.Done, Decode("message_stop", """{"type":"message_stop"}"""));
        Assert.Equal([ChatEvent.Started("msg_1", "claude-x"), ChatEvent.Finished(FinishReason.Stop)], _events);
    }

    [Fact]
    public void Hostile_usage_counts_are_ignored()
    {
        Decode("message_start", """{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":-5,"cache_read_input_tokens":1e30,"output_tokens":1.5}}}""");
        Decode("message_delta", """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":99999999999}}""");

        Assert.Equal(new TokenUsage(0, 0, 0), _decoder.Usage);
        Assert.False(_decoder.UsageKnown);
    }
}
