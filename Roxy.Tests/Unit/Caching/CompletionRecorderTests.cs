using Roxy.Api.Caching;
using Roxy.Api.Protocols;

namespace Roxy.Tests.Unit.Caching;

public sealed class CompletionRecorderTests
{
    private static readonly TokenUsage FinalUsage = new(84, 24, 16);

    /// <summary>A streamed answer as the decoders produce it: text, then two tool calls, finish, usage (twice: the last wins).</summary>
    private static IEnumerable<ChatEvent> TextAndTools()
    {
        yield return ChatEvent.Started("chatcmpl-upstream", "gpt-4o-mini-2024-07-18");
        yield return ChatEvent.TextDelta("Let me");
        yield return ChatEvent.TextDelta(" check – ünïcödé 🌍.");
        yield return ChatEvent.ToolCallStarted(0, "call_a", "get_weather");
        yield return ChatEvent.ToolCallArguments(0, "{\"location\":");
        yield return ChatEvent.ToolCallStarted(1, "call_b", "get_time");
        yield return ChatEvent.ToolCallArguments(0, "\"Paris\"}");
        yield return ChatEvent.UsageReported(new TokenUsage(84, 3));
        yield return ChatEvent.Finished(FinishReason.ToolCalls);
        yield return ChatEvent.UsageReported(FinalUsage);
    }

    private static CompletionRecorder Fed(IEnumerable<ChatEvent> events, int maxEntryBytes = 1 << 20)
    {
        var recorder = new CompletionRecorder(maxEntryBytes);
        foreach (var chatEvent in events)
        {
            recorder.Add(chatEvent);
        }

        return recorder;
    }

    [Fact]
    public void A_whole_stream_builds_its_text_tool_calls_finish_usage_and_model()
    {
        var recorder = Fed(TextAndTools());
        recorder.Complete();

        var entry = recorder.Build("openai")!;

        Assert.Equal("openai", entry.Provider);
        Assert.Equal("gpt-4o-mini-2024-07-18", entry.Model);
        Assert.Equal("Let me check – ünïcödé 🌍.", entry.Text);
        Assert.Equal(2, entry.ToolCalls.Count);
        Assert.Equal(("call_a", "get_weather", "{\"location\":\"Paris\"}"), (entry.ToolCalls[0].Id, entry.ToolCalls[0].Name, entry.ToolCalls[0].Arguments));
        // A call that streamed no arguments still has parseable ones.
        Assert.Equal(("call_b", "get_time", "{}"), (entry.ToolCalls[1].Id, entry.ToolCalls[1].Name, entry.ToolCalls[1].Arguments));
        Assert.Equal("tool_calls", entry.Finish);
        Assert.Equal((84, 24, 16), (entry.PromptTokens, entry.CompletionTokens, entry.CachedTokens));
    }

    [Theory]
    [InlineData(FinishReason.Stop, "stop")]
    [InlineData(FinishReason.Length, "length")]
    [InlineData(FinishReason.ToolCalls, "tool_calls")]
    [InlineData(FinishReason.ContentFilter, "content_filter")]
    public void The_finish_is_stored_in_openai_words(FinishReason finish, string word)
    {
        var recorder = Fed([ChatEvent.Started(null, "m"), ChatEvent.TextDelta("x"), ChatEvent.Finished(finish)]);
        recorder.Complete();

        Assert.Equal(word, recorder.Build("p")!.Finish);
        Assert.Equal(finish, CachedFinish.FromWord(word));
    }

    [Fact]
    public void An_error_event_makes_the_answer_unstorable_whatever_follows()
    {
        var events = TextAndTools().ToList();
        events.Insert(3, ChatEvent.Failed("server_error", "The provider failed while answering."));
        var recorder = Fed(events);
        recorder.Complete();

        Assert.Null(recorder.Build("openai"));
    }

    [Fact]
    public void A_stream_not_seen_to_its_end_is_not_stored()
    {
        // Everything up to the finish and usage arrived, but the stream never said it ended whole.
        Assert.Null(Fed(TextAndTools()).Build("openai"));
    }

    [Fact]
    public void An_answer_without_a_finish_is_not_stored_even_when_completed()
    {
        var recorder = Fed(TextAndTools().Where(e => e.Kind != ChatEventKind.Finish));
        recorder.Complete();

        Assert.Null(recorder.Build("openai"));
    }

    [Fact]
    public void The_cap_counts_utf8_bytes_of_text_and_tool_calls()
    {
        // "é" is two bytes: 6 characters, 12 bytes of text, then a call of 1 + 1 + 2 bytes: 16 in all.
        ChatEvent[] events =
        [
            ChatEvent.Started(null, "m"), ChatEvent.TextDelta("éééééé"), ChatEvent.ToolCallStarted(0, "i", "n"),
            ChatEvent.ToolCallArguments(0, "{}"), ChatEvent.Finished(FinishReason.Stop),
        ];

        var atCap = Fed(events, maxEntryBytes: 16);
        atCap.Complete();
        Assert.NotNull(atCap.Build("p"));

        var overCap = Fed(events, maxEntryBytes: 15);
        overCap.Complete();
        Assert.Null(overCap.Build("p"));
    }

    [Fact]
    public void Over_the_cap_nothing_more_is_kept()
    {
        var recorder = new CompletionRecorder(maxEntryBytes: 1024);
        recorder.Add(ChatEvent.Started(null, "m"));
        var delta = new string('x', 1000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            recorder.Add(ChatEvent.TextDelta(delta));
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        recorder.Add(ChatEvent.Finished(FinishReason.Stop));
        recorder.Complete();

        Assert.Null(recorder.Build("p"));
        // A megabyte of deltas went by; what the recorder kept of them is at most the one it held before the cap.
        Assert.True(allocated < 16 * 1024, $"the recorder allocated {allocated} bytes past its cap");
    }

    [Fact]
    public void A_json_answer_is_recorded_whole_and_replaces_what_an_earlier_attempt_said()
    {
        var recorder = new CompletionRecorder(1 << 20);
        // A first attempt that failed mid-way must not leak into the answer that followed.
        recorder.Add(ChatEvent.Started(null, "other"));
        recorder.Add(ChatEvent.Failed("server_error", "gone"));

        recorder.Record(new ChatCompletion(
            "msg_1", "claude-3-5-haiku-20241022", "I'll look both up.",
            [new ToolCall("toolu_1", "get_weather", """{"location":"Zürich"}"""), new ToolCall("toolu_2", "get_status", "{}")],
            FinishReason.ToolCalls, new TokenUsage(330, 77, 300), UsageKnown: true));

        var entry = recorder.Build("anthropic")!;
        Assert.Equal("claude-3-5-haiku-20241022", entry.Model);
        Assert.Equal("I'll look both up.", entry.Text);
        Assert.Equal(["get_weather", "get_status"], entry.ToolCalls.Select(c => c.Name));
        Assert.Equal("""{"location":"Zürich"}""", entry.ToolCalls[0].Arguments);
        Assert.Equal("tool_calls", entry.Finish);
        Assert.Equal((330, 77, 300), (entry.PromptTokens, entry.CompletionTokens, entry.CachedTokens));
    }

    [Fact]
    public void A_json_answer_over_the_cap_or_without_a_finish_is_not_stored()
    {
        var big = new CompletionRecorder(maxEntryBytes: 8);
        big.Record(new ChatCompletion("x", "m", "123456789", [], FinishReason.Stop, default, UsageKnown: false));
        Assert.Null(big.Build("p"));

        var unfinished = new CompletionRecorder(1024);
        unfinished.Record(new ChatCompletion("x", "m", "hi", [], FinishReason.None, default, UsageKnown: false));
        Assert.Null(unfinished.Build("p"));
    }

    [Fact]
    public void Reset_forgets_an_attempt_that_failed_before_the_one_that_answered()
    {
        var recorder = Fed([ChatEvent.Started(null, "a"), ChatEvent.TextDelta("partial"), ChatEvent.Failed("server_error", "x")]);

        recorder.Reset();
        foreach (var chatEvent in TextAndTools())
        {
            recorder.Add(chatEvent);
        }

        recorder.Complete();
        Assert.Equal("Let me check – ünïcödé 🌍.", recorder.Build("openai")!.Text);
    }

    [Fact]
    public void An_answer_that_names_no_model_takes_the_targets()
    {
        var recorder = Fed([ChatEvent.Started(null, null), ChatEvent.TextDelta("x"), ChatEvent.Finished(FinishReason.Stop)]);
        recorder.Complete();

        Assert.Equal("gpt-4o", recorder.Build("openai", fallbackModel: "gpt-4o")!.Model);
    }
}
