using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Protocols;
using Roxy.Api.Providers;
using Roxy.Api.Providers.OpenAi;

namespace Roxy.Tests.Unit.Inbound.Anthropic;

/// <summary>
/// Recorded OpenAI-compatible streams (<c>TestData/openai/streams/*.sse</c>) against the Anthropic events a client of
/// <c>/v1/messages</c> must get: decoded by <see cref="OpenAiStreamDecoder"/> under the relay's rules and encoded by
/// <see cref="AnthropicStreamEncoder"/>, compared with <c>{name}.anthropic.expected.sse</c> and read back under
/// Anthropic's ordering rules. Set <c>ROXY_UPDATE_GOLDEN=1</c> to rewrite the expected files from the code (that run
/// fails), then review the diff: they are the contract, not a snapshot to accept blindly.
/// </summary>
public sealed class AnthropicStreamEncoderGoldenTests
{
    internal const string MessageId = "msg_0123456789abcdef01234567";
    internal const long InputEstimate = 42;
    internal const string ClientModel = "claude-sonnet-4-5";

    private static readonly string Streams = Path.Combine(AppContext.BaseDirectory, "TestData", "openai", "streams");

    public static TheoryData<string> StreamCases() => [.. Names()];

    private static IEnumerable<string> Names() =>
        Directory.GetFiles(Streams, "*.sse")
            .Where(f => !f.EndsWith(".expected.sse", StringComparison.Ordinal))
            .Select(Path.GetFileNameWithoutExtension)
            .Order(StringComparer.Ordinal)!;

    [Fact]
    public void Every_recorded_stream_has_its_expected_output()
    {
        Assert.True(Names().Count() >= 9);
        foreach (var name in Names())
        {
            Assert.True(File.Exists(Expected(Streams, name)), $"{name}: no {Path.GetFileName(Expected(Streams, name))}");
        }
    }

    [Theory]
    [MemberData(nameof(StreamCases))]
    public void Recorded_stream_becomes_the_expected_anthropic_events(string name)
    {
        var actual = Relay(File.ReadAllBytes(Path.Combine(Streams, name + ".sse")));
        Update(Expected(SourceDirectory(), name), actual);
        Assert.Equal(File.ReadAllText(Expected(Streams, name)), actual);
        AnthropicStreamEncoderRules.Check(actual);
    }

    [Fact]
    public void Text_only_is_one_text_block_ending_the_turn()
    {
        var parsed = Parse("text");

        Assert.Equal("Hello! How can I help you today?", parsed.Text);
        Assert.Single(parsed.Blocks);
        Assert.Equal("end_turn", parsed.StopReason);
        Assert.Equal("gpt-4o-mini-2024-07-18", (string?)parsed.Message["model"]);
        Assert.Equal(MessageId, (string?)parsed.Message["id"]);
        Assert.Equal(InputEstimate, (long)parsed.Message["usage"]!["input_tokens"]!);
        Assert.Equal(19, (long)parsed.Usage!["input_tokens"]!);
        Assert.Equal(10, (long)parsed.Usage["output_tokens"]!);
        Assert.Equal(0, (long)parsed.Usage["cache_read_input_tokens"]!);
    }

    [Fact]
    public void Text_then_a_tool_call_closes_the_text_block_and_loses_no_delta()
    {
        var parsed = Parse("text-then-tool");

        Assert.Equal(["text", "tool_use"], parsed.Blocks.Select(b => b.Type));
        Assert.Equal("Let me check the weather.", parsed.Text);
        var tool = Assert.Single(parsed.Tools);
        Assert.Equal("call_DdmO9pD3xa9XTPNJ32zg2hcA", tool.Id);
        Assert.Equal("get_weather", tool.Name);
        Assert.Equal("Paris, France", (string?)tool.Input!["location"]);
        Assert.Equal("tool_use", parsed.StopReason);
    }

    [Theory]
    [InlineData("two-tools")]
    [InlineData("interleaved-tools")]
    public void Parallel_tool_calls_are_one_block_each_with_their_whole_input(string name)
    {
        var parsed = Parse(name);

        Assert.Equal(2, parsed.Tools.Count);
        Assert.All(parsed.Tools, tool => Assert.NotNull(tool.Input));
        Assert.Equal(parsed.Tools.Count, parsed.Tools.Select(t => t.Id).Distinct().Count());
        Assert.Equal("tool_use", parsed.StopReason);
        if (name == "two-tools")
        {
            Assert.Equal("San Francisco", (string?)parsed.Tools[0].Input!["location"]);
            Assert.Equal("America/Los_Angeles", (string?)parsed.Tools[1].Input!["timezone"]);
        }
        else
        {
            Assert.Equal(["src/a.cs", "src/b.cs"], parsed.Tools.Select(t => (string?)t.Input!["path"]));
        }
    }

    [Fact]
    public void A_tool_without_arguments_has_an_empty_input_object()
    {
        var parsed = Parse("tool-no-args");

        var tool = Assert.Single(parsed.Tools);
        Assert.Equal("get_current_time", tool.Name);
        Assert.Empty(tool.Input!);
    }

    [Theory]
    [InlineData("error-mid-stream", "api_error", "The answer is", "The server had an error while processing your request. Sorry about that!")]
    [InlineData("openrouter-error", "api_error", "Partial answer", "Provider returned error")]
    public void An_error_after_content_is_an_error_event_that_ends_the_stream(string name, string type, string text, string message)
    {
        var parsed = Parse(name);

        Assert.Equal("error", parsed.Names[^1]);
        Assert.DoesNotContain("message_delta", parsed.Names);
        Assert.Equal(type, (string?)parsed.Error!["type"]);
        Assert.Equal(message, (string?)parsed.Error["message"]);
        Assert.Equal(text, parsed.Text);
    }

    [Fact]
    public void Cached_prompt_tokens_are_reported_apart_from_the_input_tokens()
    {
        var parsed = Parse("cached-length");

        Assert.Equal("max_tokens", parsed.StopReason);
        Assert.Equal(2006 - 1920, (long)parsed.Usage!["input_tokens"]!);
        Assert.Equal(1920, (long)parsed.Usage["cache_read_input_tokens"]!);
        Assert.Equal(5, (long)parsed.Usage["output_tokens"]!);
    }

    [Fact]
    public void Reasoning_is_not_part_of_the_answer()
    {
        var parsed = Parse("reasoning");

        Assert.Equal("2 + 2 = 4.", parsed.Text);
        Assert.Single(parsed.Blocks);
        Assert.Equal(40, (long)parsed.Usage!["output_tokens"]!);
    }

    private static AnthropicStreamEncoderRules.Parsed Parse(string name) =>
        AnthropicStreamEncoderRules.Check(Relay(File.ReadAllBytes(Path.Combine(Streams, name + ".sse"))));

    /// <summary>
    /// The relay's rules (UpstreamAttempt) for a translated stream: events before the first content are dropped, an
    /// error before it would fail over (nothing written), the end marker completes the stream, an error after content
    /// is written and ends it, and a stream that stops without its end marker gets an error.
    /// </summary>
    internal static string Relay(byte[] transcript)
    {
        var decoder = new OpenAiStreamDecoder();
        var encoder = new AnthropicStreamEncoder(MessageId, InputEstimate, ClientModel);
        var output = new ArrayBufferWriter<byte>();
        var events = new List<ChatEvent>();
        var buffer = new ReadOnlySequence<byte>(transcript);
        var committed = false;
        var ended = false;
        while (SseEvent.TryRead(ref buffer, out var evt))
        {
            events.Clear();
            var kind = decoder.Decode(evt.ToArray(), events);
            if (!committed)
            {
                if (kind == UpstreamEventKind.Error)
                {
                    return "";
                }

                if (kind is UpstreamEventKind.Empty or UpstreamEventKind.Opening)
                {
                    continue;
                }

                committed = true;
            }

            foreach (var chatEvent in events)
            {
                encoder.Write(chatEvent, output);
            }

            if (kind is UpstreamEventKind.Done or UpstreamEventKind.Error)
            {
                if (kind == UpstreamEventKind.Done)
                {
                    encoder.Complete(output);
                }

                ended = true;
                break;
            }
        }

        if (committed && !ended)
        {
            encoder.Write(ChatEvent.Failed("server_error", "Provider 'test' ended the stream before the answer was complete."), output);
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static string Expected(string directory, string name) => Path.Combine(directory, name + ".anthropic.expected.sse");

    // Rewriting never passes a test: the run that rewrote the files fails, and the review decides.
    private static void Update(string path, string content)
    {
        if (Environment.GetEnvironmentVariable("ROXY_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, content);
            Assert.Fail($"Rewrote {Path.GetFileName(path)}; review the diff, then run again without ROXY_UPDATE_GOLDEN.");
        }
    }

    private static string SourceDirectory([CallerFilePath] string here = "") =>
        Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "TestData", "openai", "streams");
}
