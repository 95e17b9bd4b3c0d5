using System.Buffers;
using System.Text;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Protocols;

namespace Roxy.Tests.Unit.Inbound.Anthropic;

public sealed class AnthropicStreamEncoderTests
{
    private readonly AnthropicStreamEncoder _encoder = new("msg_abc", 17, "claude-client-model");
    private readonly ArrayBufferWriter<byte> _output = new();

    private void Write(params ChatEvent[] events)
    {
        foreach (var chatEvent in events)
        {
            _encoder.Write(chatEvent, _output);
        }
    }

    private string Output => Encoding.UTF8.GetString(_output.WrittenSpan);

    private AnthropicStreamEncoderRules.Parsed Complete()
    {
        _encoder.Complete(_output);
        return AnthropicStreamEncoderRules.Check(Output);
    }

    private static int Deltas(AnthropicStreamEncoderRules.Parsed parsed) => parsed.Names.Count(n => n == "content_block_delta");

    [Fact]
    public void Message_start_comes_once_with_the_counted_prompt_and_the_provider_model()
    {
        Write(ChatEvent.Started("chatcmpl-1", "gpt-4o"), ChatEvent.Started("chatcmpl-1", "other"), ChatEvent.TextDelta("Hi"));

        var parsed = Complete();
        Assert.Single(parsed.Names, n => n == "message_start");
        Assert.Equal("msg_abc", (string?)parsed.Message["id"]);
        Assert.Equal("gpt-4o", (string?)parsed.Message["model"]);
        Assert.Equal(17, (long)parsed.Message["usage"]!["input_tokens"]!);
    }

    [Fact]
    public void Text_split_around_a_tool_call_in_one_chunk_keeps_every_delta()
    {
        // One OpenAI chunk may carry text and the first tool fragment: the decoder emits the text first.
        Write(
            ChatEvent.Started("c", "m"),
            ChatEvent.TextDelta("Let me look"),
            ChatEvent.TextDelta("."),
            ChatEvent.ToolCallStarted(0, "call_1", "search"),
            ChatEvent.ToolCallArguments(0, "{\"q\":"),
            ChatEvent.ToolCallArguments(0, "\"roxy\"}"),
            ChatEvent.Finished(FinishReason.Stop),
            ChatEvent.UsageReported(new TokenUsage(30, 9)));

        var parsed = Complete();
        Assert.Equal(["text", "tool_use"], parsed.Blocks.Select(b => b.Type));
        Assert.Equal("Let me look.", parsed.Text);
        Assert.Equal("roxy", (string?)parsed.Tools[0].Input!["q"]);
        Assert.Equal("tool_use", parsed.StopReason);
    }

    [Fact]
    public void Sequential_tool_calls_stream_live_even_with_braces_inside_strings()
    {
        Write(
            ChatEvent.ToolCallStarted(0, "call_1", "write"),
            ChatEvent.ToolCallArguments(0, "{\"text\":\"a}b"),
            ChatEvent.ToolCallArguments(0, "\\\"}\"}"),
            ChatEvent.ToolCallStarted(1, "call_2", "read"),
            ChatEvent.ToolCallArguments(1, "{\"p\":"),
            ChatEvent.ToolCallArguments(1, "1}"));

        var parsed = Complete();
        Assert.Equal("a}b\"}", (string?)parsed.Tools[0].Input!["text"]);
        Assert.Equal(1, (int)parsed.Tools[1].Input!["p"]!);
        // Each fragment went out as it came: nothing was held for the end.
        Assert.Equal(4, Deltas(parsed));
        Assert.True(Output.IndexOf("\"id\":\"call_2\"", StringComparison.Ordinal) < Output.IndexOf("{\\\"p\\\":", StringComparison.Ordinal));
    }

    [Fact]
    public void A_call_that_starts_before_the_open_one_is_whole_is_held_and_written_whole_once_it_is()
    {
        Write(
            ChatEvent.ToolCallStarted(0, "call_1", "a"),
            ChatEvent.ToolCallStarted(1, "call_2", "b"),
            ChatEvent.ToolCallArguments(1, "{\"y\":"),
            ChatEvent.ToolCallArguments(0, "{\"x\":"),
            ChatEvent.TextDelta("between"),
            ChatEvent.ToolCallArguments(1, "2}"));
        Assert.DoesNotContain("call_2", Output, StringComparison.Ordinal);

        Write(ChatEvent.ToolCallArguments(0, "1}"));
        // Call 0 is whole: what was held behind it is out before the stream ends.
        Assert.Contains("call_2", Output, StringComparison.Ordinal);
        Assert.Contains("between", Output, StringComparison.Ordinal);

        Write(ChatEvent.Finished(FinishReason.ToolCalls));
        var parsed = Complete();
        Assert.Equal(["tool_use", "tool_use", "text"], parsed.Blocks.Select(b => b.Type));
        Assert.Equal(["call_1", "call_2"], parsed.Tools.Select(t => t.Id));
        Assert.Equal(1, (int)parsed.Tools[0].Input!["x"]!);
        Assert.Equal(2, (int)parsed.Tools[1].Input!["y"]!);
        Assert.Equal("between", parsed.Text);
    }

    [Fact]
    public void Holding_ends_once_the_open_call_is_whole_and_what_follows_streams_live()
    {
        Write(
            ChatEvent.ToolCallStarted(0, "call_1", "a"),
            ChatEvent.ToolCallStarted(1, "call_2", "b"),
            ChatEvent.ToolCallArguments(1, "{\"y\":"),
            ChatEvent.ToolCallArguments(0, "{\"x\":1}"));
        // Call 1 went live with what was held for it.
        Assert.Contains("\"id\":\"call_2\"", Output, StringComparison.Ordinal);

        Write(ChatEvent.ToolCallArguments(1, "2}"));
        Assert.Contains("\"partial_json\":\"2}\"", Output, StringComparison.Ordinal);

        Write(ChatEvent.TextDelta("after"));
        Assert.Contains("\"text\":\"after\"", Output, StringComparison.Ordinal);

        Write(ChatEvent.ToolCallStarted(2, "call_3", "c"), ChatEvent.ToolCallArguments(2, "{\"z\":"));
        Assert.Contains("\"id\":\"call_3\"", Output, StringComparison.Ordinal);
        Assert.Contains("\"partial_json\":\"{\\\"z\\\":\"", Output, StringComparison.Ordinal);

        Write(ChatEvent.ToolCallArguments(2, "3}"), ChatEvent.Finished(FinishReason.ToolCalls));
        var parsed = Complete();
        Assert.Equal(["tool_use", "tool_use", "text", "tool_use"], parsed.Blocks.Select(b => b.Type));
        Assert.Equal(["call_1", "call_2", "call_3"], parsed.Tools.Select(t => t.Id));
        Assert.Equal([1, 2, 3], parsed.Tools.Select(t => (int)t.Input!.Single().Value!));
        Assert.Equal("after", parsed.Text);
        // x, y's held part, each later fragment and the text: one delta each, nothing saved for the end.
        Assert.Equal(6, Deltas(parsed));
    }

    [Fact]
    public void Text_held_behind_an_unfinished_call_goes_live_once_the_call_is_whole()
    {
        Write(
            ChatEvent.ToolCallStarted(0, "call_1", "a"),
            ChatEvent.ToolCallArguments(0, "{\"x\":"),
            ChatEvent.TextDelta("mid"),
            ChatEvent.ToolCallArguments(0, "1}"),
            ChatEvent.TextDelta("dle"));
        Assert.Contains("\"text\":\"dle\"", Output, StringComparison.Ordinal);

        var parsed = Complete();
        Assert.Equal(["tool_use", "text"], parsed.Blocks.Select(b => b.Type));
        Assert.Equal("middle", parsed.Text);
        Assert.Equal(1, (int)parsed.Tools[0].Input!["x"]!);
    }

    [Fact]
    public void Held_data_past_the_cap_ends_the_stream_with_an_error()
    {
        var chunk = new string('a', 1024 * 1024);
        Write(
            ChatEvent.ToolCallStarted(0, "call_1", "a"),
            ChatEvent.ToolCallArguments(0, "{\"x\":"),
            ChatEvent.ToolCallStarted(1, "call_2", "b"),
            ChatEvent.ToolCallArguments(1, "{\"y\":\""));
        for (var held = 0; held <= AnthropicStreamEncoder.MaxHeldChars; held += chunk.Length)
        {
            Write(ChatEvent.ToolCallArguments(1, chunk));
        }

        var written = _output.WrittenCount;
        Write(ChatEvent.ToolCallArguments(1, "\"}"), ChatEvent.ToolCallArguments(0, "1}"), ChatEvent.TextDelta("more"));
        _encoder.Complete(_output);

        Assert.Equal(written, _output.WrittenCount);
        Assert.True(written < 4096, $"held data was written: {written} bytes");
        var parsed = AnthropicStreamEncoderRules.Check(Output);
        Assert.Equal("error", parsed.Names[^1]);
        Assert.Equal("api_error", (string?)parsed.Error!["type"]);
        Assert.Equal("The provider interleaved more tool-call data than Roxy holds.", (string?)parsed.Error["message"]);
        Assert.Equal(["call_1"], parsed.Tools.Select(t => t.Id));
    }

    [Fact]
    public void The_cap_counts_only_what_is_held_now()
    {
        var chunk = new string('a', (AnthropicStreamEncoder.MaxHeldChars / 4) * 3);
        for (var call = 0; call < 4; call += 2)
        {
            // Call n+1 holds three quarters of the cap behind call n, then is let go when call n is whole.
            Write(
                ChatEvent.ToolCallStarted(call, $"call_{call}", "a"),
                ChatEvent.ToolCallArguments(call, "{\"x\":"),
                ChatEvent.ToolCallStarted(call + 1, $"call_{call + 1}", "b"),
                ChatEvent.ToolCallArguments(call + 1, "{\"y\":\""),
                ChatEvent.ToolCallArguments(call + 1, chunk),
                ChatEvent.ToolCallArguments(call, "1}"),
                ChatEvent.ToolCallArguments(call + 1, "\"}"));
        }

        var parsed = Complete();
        Assert.Null(parsed.Error);
        Assert.Equal(4, parsed.Tools.Count);
        Assert.All(parsed.Tools.Where((_, i) => i % 2 == 1), t => Assert.Equal(chunk, (string?)t.Input!["y"]));
    }

    [Fact]
    public void A_live_call_drops_what_comes_after_its_arguments_are_whole()
    {
        // Some vLLM tool parsers repeat a tail: the client must still accumulate one JSON value.
        Write(
            ChatEvent.ToolCallStarted(0, "call_1", "a"),
            ChatEvent.ToolCallArguments(0, "{\"a\":1}"),
            ChatEvent.ToolCallArguments(0, "\"}"),
            ChatEvent.ToolCallArguments(0, " "),
            ChatEvent.ToolCallStarted(1, "call_2", "b"),
            ChatEvent.ToolCallArguments(1, "{\"b\":"),
            ChatEvent.ToolCallArguments(1, "2}\"}"),
            ChatEvent.ToolCallArguments(1, "}"));

        var parsed = Complete();
        Assert.Equal("{\"a\":1} ", parsed.Tools[0].Text);
        Assert.Equal("{\"b\":2}", parsed.Tools[1].Text);
        Assert.Equal(1, (int)parsed.Tools[0].Input!["a"]!);
        Assert.Equal(2, (int)parsed.Tools[1].Input!["b"]!);
    }

    [Fact]
    public void A_fragment_for_a_call_whose_arguments_were_whole_is_dropped()
    {
        Write(
            ChatEvent.ToolCallStarted(0, "call_1", "a"),
            ChatEvent.ToolCallArguments(0, "{}"),
            ChatEvent.ToolCallStarted(1, "call_2", "b"),
            ChatEvent.ToolCallArguments(0, "{\"late\":true}"),
            ChatEvent.ToolCallArguments(1, "{}"));

        var parsed = Complete();
        Assert.Empty(parsed.Tools[0].Input!);
        Assert.Empty(parsed.Tools[1].Input!);
        Assert.DoesNotContain("late", Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_after_a_finished_tool_call_is_a_new_text_block()
    {
        Write(ChatEvent.ToolCallStarted(0, "call_1", "a"), ChatEvent.ToolCallArguments(0, "{}"), ChatEvent.TextDelta("done"));

        var parsed = Complete();
        Assert.Equal(["tool_use", "text"], parsed.Blocks.Select(b => b.Type));
        Assert.Equal("tool_use", parsed.StopReason);
    }

    [Fact]
    public void An_answer_with_nothing_in_it_is_still_a_whole_message()
    {
        var parsed = Complete();

        Assert.Equal(["message_start", "message_delta", "message_stop"], parsed.Names);
        Assert.Equal("end_turn", parsed.StopReason);
        Assert.Equal("claude-client-model", (string?)parsed.Message["model"]);
    }

    [Theory]
    [InlineData(FinishReason.Stop, false, "end_turn")]
    [InlineData(FinishReason.None, false, "end_turn")]
    [InlineData(FinishReason.Stop, true, "tool_use")]
    [InlineData(FinishReason.ToolCalls, true, "tool_use")]
    [InlineData(FinishReason.Length, false, "max_tokens")]
    [InlineData(FinishReason.Length, true, "max_tokens")]
    [InlineData(FinishReason.ContentFilter, false, "refusal")]
    public void Finish_reasons_become_stop_reasons(FinishReason finish, bool toolCall, string expected)
    {
        Write(ChatEvent.TextDelta("x"));
        if (toolCall)
        {
            Write(ChatEvent.ToolCallStarted(0, "call_1", "a"), ChatEvent.ToolCallArguments(0, "{}"));
        }

        Write(ChatEvent.Finished(finish));
        Assert.Equal(expected, Complete().StopReason);
    }

    [Fact]
    public void Usage_is_the_providers_with_cached_tokens_apart()
    {
        Write(ChatEvent.TextDelta("x"), ChatEvent.UsageReported(new TokenUsage(10, 1)), ChatEvent.UsageReported(new TokenUsage(500, 20, 400)));

        var usage = Complete().Usage!;
        Assert.Equal(100, (long)usage["input_tokens"]!);
        Assert.Equal(20, (long)usage["output_tokens"]!);
        Assert.Equal(400, (long)usage["cache_read_input_tokens"]!);
    }

    [Fact]
    public void Unknown_usage_is_the_counted_prompt_and_a_token_a_delta()
    {
        Write(ChatEvent.TextDelta("a"), ChatEvent.TextDelta("b"), ChatEvent.TextDelta("c"));

        var usage = Complete().Usage!;
        Assert.Equal(17, (long)usage["input_tokens"]!);
        Assert.Equal(3, (long)usage["output_tokens"]!);
    }

    [Fact]
    public void An_error_is_the_last_event_in_anthropics_shape()
    {
        Write(ChatEvent.Started("c", "m"), ChatEvent.TextDelta("par"), ChatEvent.Failed("rate_limit_exceeded", "Slow down"), ChatEvent.TextDelta("more"));
        _encoder.Complete(_output);

        var parsed = AnthropicStreamEncoderRules.Check(Output);
        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "error"], parsed.Names);
        Assert.Equal("rate_limit_error", (string?)parsed.Error!["type"]);
        Assert.Equal("Slow down", (string?)parsed.Error["message"]);
    }

    [Fact]
    public void Tool_ids_are_ones_anthropic_accepts()
    {
        Write(ChatEvent.ToolCallStarted(0, "functions.get_weather:0", "get_weather"), ChatEvent.ToolCallArguments(0, "{}"), ChatEvent.ToolCallStarted(1, "", "b"));

        var parsed = Complete();
        Assert.Matches("^functions_get_weather_0_[0-9a-f]{12}$", parsed.Tools[0].Id);
        Assert.Equal("toolu_abc_1", parsed.Tools[1].Id);
    }

    [Fact]
    public void Text_is_escaped_as_json_and_unicode_stays_readable()
    {
        Write(ChatEvent.TextDelta("line\nnext \"quoted\" </script> é 日本"));

        var parsed = Complete();
        Assert.Equal("line\nnext \"quoted\" </script> é 日本", parsed.Text);
        Assert.Contains("é 日本", Output, StringComparison.Ordinal);
    }
}
