using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Roxy.Api.Inbound.OpenAi;
using Roxy.Api.Protocols;
using Roxy.Api.Providers;
using Roxy.Api.Providers.Anthropic;
using Roxy.Api.Providers.OpenAi;

namespace Roxy.Tests.Unit.Providers.Anthropic;

/// <summary>
/// Recorded Anthropic answers (<c>TestData/anthropic/streams/*.sse</c>, <c>…/answers/*.json</c>) against the OpenAI
/// answer a client must get: the stream decoded by <see cref="AnthropicStreamDecoder"/> under the relay's rules and
/// encoded by <see cref="OpenAiChunkEncoder"/>, the JSON by <see cref="AnthropicAnswerDecoder"/> and
/// <see cref="OpenAiCompletionEncoder"/>. <c>{name}.expected.sse</c> is for a client that did not ask for usage,
/// <c>{name}.usage.expected.sse</c> for one that did. Set <c>ROXY_UPDATE_GOLDEN=1</c> to rewrite the expected files
/// from the code (that run fails), then review the diff: they are the contract, not a snapshot to accept blindly.
/// </summary>
public sealed partial class AnthropicAnswerGoldenTests
{
    private const string FallbackId = "chatcmpl-fallback";

    private static readonly string Streams = Path.Combine(AppContext.BaseDirectory, "TestData", "anthropic", "streams");
    private static readonly string Answers = Path.Combine(AppContext.BaseDirectory, "TestData", "anthropic", "answers");

    [GeneratedRegex("\"created\":[0-9]+")]
    private static partial Regex Created();

    public static TheoryData<string, bool> StreamCases()
    {
        var cases = new TheoryData<string, bool>();
        foreach (var file in Directory.GetFiles(Streams, "*.sse").Where(f => !f.EndsWith(".expected.sse", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            cases.Add(name, false);
            cases.Add(name, true);
        }

        return cases;
    }

    public static TheoryData<string> AnswerCases()
    {
        var cases = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Answers, "*.json").Where(f => !f.EndsWith(".expected.json", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            cases.Add(Path.GetFileNameWithoutExtension(file));
        }

        return cases;
    }

    [Fact]
    public void Every_recorded_answer_has_its_expected_output()
    {
        Assert.True(StreamCases().Count >= 12);
        Assert.True(AnswerCases().Count >= 4);
        foreach (var (name, usage) in StreamCases().Select(c => ((string)c[0], (bool)c[1])))
        {
            Assert.True(File.Exists(ExpectedStream(Streams, name, usage)), $"{name}: no {Path.GetFileName(ExpectedStream(Streams, name, usage))}");
        }
    }

    [Theory]
    [MemberData(nameof(StreamCases))]
    public void Recorded_stream_becomes_the_expected_openai_chunks(string name, bool includeUsage)
    {
        var output = Relay(File.ReadAllBytes(Path.Combine(Streams, name + ".sse")), includeUsage);
        var actual = Created().Replace(output, "\"created\":0");
        Update(ExpectedStream(SourceDirectory("streams"), name, includeUsage), actual);
        Assert.Equal(File.ReadAllText(ExpectedStream(Streams, name, includeUsage)), actual);
    }

    [Theory]
    [MemberData(nameof(AnswerCases))]
    public void Recorded_json_answer_becomes_the_expected_chat_completion(string name)
    {
        var answer = AnthropicAnswerDecoder.Decode(File.ReadAllBytes(Path.Combine(Answers, name + ".json")), translate: true);
        Assert.True(answer.WellFormed);
        var output = new ArrayBufferWriter<byte>();
        OpenAiCompletionEncoder.Write(answer.Completion!, 1_700_000_000, output);
        var actual = JsonNode.Parse(output.WrittenSpan)!;
        actual.AsObject().Remove("created");
        Update(Path.Combine(SourceDirectory("answers"), name + ".expected.json"), actual.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(Answers, name + ".expected.json")))!;
        Assert.True(JsonNode.DeepEquals(expected, actual), $"{name}:\nexpected {expected.ToJsonString()}\nactual   {actual.ToJsonString()}");
    }

    /// <summary>
    /// The relay's rules (UpstreamAttempt) over one recorded stream: events before the first content are held back
    /// and dropped, an error before it would fail over (nothing written), the end marker closes the stream, and an
    /// error after content is written and ends it.
    /// </summary>
    internal static string Relay(byte[] transcript, bool includeUsage)
    {
        var decoder = new AnthropicStreamDecoder();
        var encoder = new OpenAiChunkEncoder(FallbackId, 1_700_000_000, includeUsage);
        var output = new ArrayBufferWriter<byte>();
        var events = new List<ChatEvent>();
        var buffer = new ReadOnlySequence<byte>(transcript);
        var committed = false;
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

                if (kind == UpstreamEventKind.Empty)
                {
                    continue;
                }

                committed = true;
            }

            foreach (var chatEvent in events)
            {
                encoder.Write(chatEvent, output);
            }

            if (kind == UpstreamEventKind.Done)
            {
                encoder.Complete(output);
                break;
            }

            if (kind == UpstreamEventKind.Error)
            {
                break;
            }
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static string ExpectedStream(string directory, string name, bool includeUsage) =>
        Path.Combine(directory, name + (includeUsage ? ".usage.expected.sse" : ".expected.sse"));

    // Rewriting never passes a test: the run that rewrote the files fails, and the review decides.
    private static void Update(string path, string content)
    {
        if (Environment.GetEnvironmentVariable("ROXY_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, content);
            Assert.Fail($"Rewrote {Path.GetFileName(path)}; review the diff, then run again without ROXY_UPDATE_GOLDEN.");
        }
    }

    private static string SourceDirectory(string kind, [CallerFilePath] string here = "") =>
        Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "TestData", "anthropic", kind);
}
