using System.Buffers;
using System.Text;
using Roxy.Api.Protocols;
using Roxy.Api.Providers.OpenAi;

namespace Roxy.Tests.Unit.Proxy;

public class SseEventTests
{
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }

    private static ReadOnlySequence<byte> Sequence(params string[] parts)
    {
        var first = new Segment(Encoding.UTF8.GetBytes(parts[0]));
        var last = first;
        foreach (var part in parts.Skip(1))
        {
            last = last.Append(Encoding.UTF8.GetBytes(part));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private static List<string> ReadAll(ref ReadOnlySequence<byte> buffer)
    {
        var events = new List<string>();
        while (SseEvent.TryRead(ref buffer, out var evt))
        {
            events.Add(Encoding.UTF8.GetString(evt.ToArray()));
        }

        return events;
    }

    private static SseEvent.Kind Inspect(string evt) => SseEvent.Inspect(Encoding.UTF8.GetBytes(evt), out _);

    [Fact]
    public void Events_separated_by_lf_lf_are_cut_through_their_blank_line()
    {
        var buffer = Sequence("data: {\"a\":1}\n\ndata: {\"b\":2}\n\n");

        var events = ReadAll(ref buffer);

        Assert.Equal(["data: {\"a\":1}\n\n", "data: {\"b\":2}\n\n"], events);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Events_separated_by_crlf_crlf_are_cut_through_their_blank_line()
    {
        var buffer = Sequence("event: message\r\ndata: {\"a\":1}\r\n\r\ndata: [DONE]\r\n\r\n");

        var events = ReadAll(ref buffer);

        Assert.Equal(["event: message\r\ndata: {\"a\":1}\r\n\r\n", "data: [DONE]\r\n\r\n"], events);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Partial_event_stays_in_the_buffer()
    {
        var buffer = Sequence("data: {\"a\":1}\n\ndata: {\"b\"");

        var events = ReadAll(ref buffer);

        Assert.Single(events);
        Assert.Equal("data: {\"b\"", Encoding.UTF8.GetString(buffer.ToArray()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("data: {\"a\":1}")]
    [InlineData("data: {\"a\":1}\n")]
    [InlineData("data: {\"a\":1}\r\n")]
    [InlineData("data: {\"a\":1}\r\n\r")]
    public void Incomplete_event_is_not_read_and_buffer_is_untouched(string text)
    {
        var buffer = Sequence(text);

        Assert.False(SseEvent.TryRead(ref buffer, out _));
        Assert.Equal(text, Encoding.UTF8.GetString(buffer.ToArray()));
    }

    [Fact]
    public void Events_split_across_many_segments_are_framed()
    {
        var buffer = Sequence("da", "ta: {\"a\"", ":1}\r", "\n", "\r", "\ndata: [DO", "NE]\n", "\n", ": pi");

        var events = ReadAll(ref buffer);

        Assert.Equal(["data: {\"a\":1}\r\n\r\n", "data: [DONE]\n\n"], events);
        Assert.Equal(": pi", Encoding.UTF8.GetString(buffer.ToArray()));
    }

    [Fact]
    public void One_byte_segments_frame_the_same_as_one_segment()
    {
        const string text = "data: {\"x\":1}\n\n: ping\n\ndata: [DONE]\n\n";
        var bytes = text.Select(c => c.ToString()).ToArray();
        var split = Sequence(bytes);
        var whole = Sequence(text);

        Assert.Equal(ReadAll(ref whole), ReadAll(ref split));
        Assert.True(split.IsEmpty);
    }

    [Theory]
    [InlineData("data: [DONE]\n\n")]
    [InlineData("data:[DONE]\r\n\r\n")]
    public void Done_is_classified_as_done(string evt)
    {
        Assert.Equal(SseEvent.Kind.Done, Inspect(evt));
    }

    [Fact]
    public void Data_with_error_object_is_classified_as_error()
    {
        Assert.Equal(SseEvent.Kind.Error, Inspect("data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n"));
    }

    [Fact]
    public void Error_event_type_is_classified_as_error()
    {
        Assert.Equal(SseEvent.Kind.Error, Inspect("event: error\ndata: {\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}\n\n"));
        Assert.Equal(SseEvent.Kind.Error, Inspect("event:error\r\ndata: {}\r\n\r\n"));
    }

    [Theory]
    [InlineData(": ping\n\n")]
    [InlineData(":\n\n")]
    [InlineData(": keep-alive\r\n\r\n")]
    [InlineData("event: ping\n\n")]
    [InlineData("\n")]
    public void Comments_and_keep_alives_are_empty(string evt)
    {
        Assert.Equal(SseEvent.Kind.Empty, Inspect(evt));
    }

    [Fact]
    public void Usage_only_chunk_is_classified_with_its_token_counts()
    {
        const string evt = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],"
            + "\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":42,\"total_tokens\":59,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n";

        var kind = SseEvent.Inspect(Encoding.UTF8.GetBytes(evt), out var usage);

        Assert.Equal(SseEvent.Kind.UsageOnly, kind);
        Assert.Equal(17, usage.PromptTokens);
        Assert.Equal(42, usage.CompletionTokens);
    }

    [Fact]
    public void Usage_reads_the_cached_part_of_the_prompt_as_passed_through()
    {
        const string evt = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2000,\"completion_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\":1280}}}\n\n";

        SseEvent.Inspect(Encoding.UTF8.GetBytes(evt), out var usage);
        Assert.True(SseEvent.ReadUsage(Encoding.UTF8.GetBytes(evt[6..^2]), out var whole, out _, out var wellFormed));

        Assert.Equal(new TokenUsage(2000, 5, 1280), usage);
        Assert.Equal(usage, whole);
        Assert.True(wellFormed);
    }

    [Fact]
    public void Content_chunk_with_null_usage_is_content()
    {
        const string evt = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}],\"usage\":null}\n\n";

        var kind = SseEvent.Inspect(Encoding.UTF8.GetBytes(evt), out var usage);

        Assert.Equal(SseEvent.Kind.Content, kind);
        Assert.Equal(0, usage.PromptTokens);
        Assert.Equal(0, usage.CompletionTokens);
    }

    [Fact]
    public void Content_chunk_mentioning_error_in_its_text_is_content()
    {
        Assert.Equal(SseEvent.Kind.Content, Inspect("data: {\"choices\":[{\"delta\":{\"content\":\"{\\\"error\\\": no\"}}]}\n\n"));
    }

    [Fact]
    public void Read_usage_reads_a_whole_completion()
    {
        var json = Encoding.UTF8.GetBytes("{\"id\":\"x\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"hi\"}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}");

        Assert.True(SseEvent.ReadUsage(json, out var usage, out var noChoices, out _));
        Assert.Equal(3, usage.PromptTokens);
        Assert.Equal(4, usage.CompletionTokens);
        Assert.False(noChoices);
    }

    [Fact]
    public void Read_usage_understands_input_and_output_tokens()
    {
        var json = Encoding.UTF8.GetBytes("{\"usage\":{\"input_tokens\":8,\"output_tokens\":9},\"choices\":[]}");

        Assert.True(SseEvent.ReadUsage(json, out var usage, out var noChoices, out _));
        Assert.Equal(8, usage.PromptTokens);
        Assert.Equal(9, usage.CompletionTokens);
        Assert.True(noChoices);
    }

    [Theory]
    [InlineData("{\"usage\":null}")]
    [InlineData("{\"choices\":[]}")]
    [InlineData("[1,2]")]
    [InlineData("{\"usage\":{\"prompt_tokens\":")]
    public void Read_usage_without_usable_usage_is_false(string json)
    {
        Assert.False(SseEvent.ReadUsage(Encoding.UTF8.GetBytes(json), out _, out _, out _));
    }

    [Fact]
    public void Read_usage_does_not_throw_on_out_of_range_token_counts()
    {
        var json = Encoding.UTF8.GetBytes("{\"choices\":[],\"usage\":{\"prompt_tokens\":1.5,\"completion_tokens\":99999999999}}");

        var ex = Record.Exception(() => SseEvent.ReadUsage(json, out _, out _, out _));

        Assert.Null(ex);
    }

    [Fact]
    public void Read_usage_keeps_the_valid_count_when_the_other_is_out_of_range()
    {
        var json = Encoding.UTF8.GetBytes("{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":99999999999}}");

        Assert.True(SseEvent.ReadUsage(json, out var usage, out var noChoices, out _));
        Assert.Equal(12, usage.PromptTokens);
        Assert.Equal(0, usage.CompletionTokens);
        Assert.True(noChoices);
    }

    [Theory]
    [InlineData("data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n")]
    [InlineData("\ndata: x\n\n")]
    [InlineData("data: a\r\ndata: b\r\n\r\ndata: c\n\n")]
    public void Incremental_scan_cuts_the_same_events_however_the_bytes_arrive(string text)
    {
        var whole = Sequence(text);
        var expected = ReadAll(ref whole);

        // One byte more per read, as a slow upstream would deliver it; the scan resumes where it stopped.
        var bytes = Encoding.UTF8.GetBytes(text);
        var events = new List<string>();
        var scan = default(SseEvent.Scan);
        var consumed = 0;
        for (var end = 1; end <= bytes.Length; end++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes, consumed, end - consumed);
            while (SseEvent.TryRead(ref buffer, ref scan, out var evt))
            {
                events.Add(Encoding.UTF8.GetString(evt.ToArray()));
                consumed += (int)evt.Length;
            }
        }

        Assert.Equal(expected, events);
        Assert.Equal(bytes.Length, consumed);
    }
}
