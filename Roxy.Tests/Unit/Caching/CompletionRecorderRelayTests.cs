using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using OpenAI.Chat;
using Roxy.Api.Caching;
using Roxy.Api.Configuration;
using Roxy.Api.Providers;
using Roxy.Api.Providers.Anthropic;
using Roxy.Api.Providers.OpenAi;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Unit.Caching;

/// <summary>
/// The relay feeds the recorder what it passes on: recorded provider streams and answers served over loopback, relayed
/// by <see cref="UpstreamAttempt"/> to a client of the same protocol (bytes passed through) and of the other
/// (translated). The entry it builds is then replayed in the other mode and must say what the live answer said.
/// </summary>
public sealed class CompletionRecorderRelayTests : IAsyncLifetime
{
    private static readonly string TestData = Path.Combine(AppContext.BaseDirectory, "TestData");

    private static readonly ProviderKey Key = new("key-1", "up", "fp", KeySource.Config, "UP_KEY", "sk-…1234", 0, 0, 0, Owner.Config, true, null);

    // Shared by the tests of this class, as a provider's pool is by its requests.
    private static readonly HttpMessageInvoker Http = new(new SocketsHttpHandler());

    private HostileUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await HostileUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private static string Stream(string protocol, string name) => File.ReadAllText(Path.Combine(TestData, protocol, "streams", name + ".sse"));

    private IProviderClient Provider(ProviderKind kind)
    {
        var settings = new ResolvedProvider(
            "up", kind, _upstream.BaseUrl, new Dictionary<string, string>(),
            TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
        return kind == ProviderKind.OpenAi ? new OpenAiCompatibleProvider(settings, Http) : new AnthropicProvider(settings, Http);
    }

    /// <summary>Relays <paramref name="upstreamBody"/> (SSE events written and flushed one by one) to the client, recording.</summary>
    private async Task<CompletionRecorder> RelayAsync(ReplayClient client, ProviderKind kind, string upstreamBody, bool sse = true)
    {
        _upstream.Answer(async ctx =>
        {
            ctx.Response.ContentType = sse ? "text/event-stream" : "application/json";
            foreach (var frame in sse ? upstreamBody.Split("\n\n", StringSplitOptions.RemoveEmptyEntries) : [upstreamBody])
            {
                await ctx.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(sse ? frame + "\n\n" : frame));
                await ctx.Response.Body.FlushAsync();
            }
        });

        var recorder = new CompletionRecorder(1 << 20);
        client.Request.Recorder = recorder;
        var attempt = new UpstreamAttempt(
            TimeProvider.System, new ResolvedConfig(new RoxyConfig(), [], [], "", []), NullLogger<UpstreamAttempt>.Instance);
        using var body = new PooledBuffer(16);
        body.Write("{}"u8);
        await attempt.RunAsync(client.Request, Provider(kind), new RouteTarget("up", "model"), Key, "sk-test", body);
        return recorder;
    }

    public static TheoryData<string, string, ProviderKind, bool> Streams => new()
    {
        // The recorded stream, the provider's protocol, and whether the client speaks it (bytes pass through).
        { "openai", "text-then-tool", ProviderKind.OpenAi, true },
        { "openai", "text-then-tool", ProviderKind.OpenAi, false },
        { "openai", "two-tools", ProviderKind.OpenAi, true },
        { "anthropic", "parallel-tools", ProviderKind.Anthropic, true },
        { "anthropic", "parallel-tools", ProviderKind.Anthropic, false },
        { "anthropic", "tool-no-args", ProviderKind.Anthropic, true },
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task A_relayed_stream_builds_an_entry_whose_json_replay_says_what_the_stream_said(
        string protocol, string name, ProviderKind kind, bool sameProtocol)
    {
        var source = Stream(protocol, name);
        var openAiClient = (kind == ProviderKind.OpenAi) == sameProtocol;
        using var client = openAiClient ? ReplayClient.OpenAi(stream: true, includeUsage: true) : ReplayClient.Anthropic(stream: true);

        var entry = (await RelayAsync(client, kind, source)).Build("up", "model");

        Assert.NotNull(entry);
        Assert.Equal("up", entry.Provider);
        Assert.Equal("tool_calls", entry.Finish);
        Assert.True(entry.PromptTokens > 0 && entry.CompletionTokens > 0, "the stream's usage is kept");
        Assert.StartsWith(kind == ProviderKind.OpenAi ? "gpt-4o" : "claude-", entry.Model);
        if (sameProtocol && openAiClient)
        {
            // Recording changes nothing about what is relayed.
            Assert.Equal(source, client.Written);
        }

        // The same answer served later as JSON, to a client of the same protocol.
        using var later = openAiClient ? ReplayClient.OpenAi(stream: false) : ReplayClient.Anthropic(stream: false);
        await CacheReplay.WriteAsync(later.Request, entry);
        if (openAiClient)
        {
            var live = OpenAiStreamAnswer(client.OpenAiChunks());
            var replayed = ModelReaderWriter.Read<ChatCompletion>(BinaryData.FromString(later.Written))!;
            Assert.Equal(live.Text, string.Concat(replayed.Content.Select(p => p.Text)));
            Assert.Equal(live.Tools, replayed.ToolCalls.Select(t => (t.Id, t.FunctionName, t.FunctionArguments.ToString())));
            Assert.Equal(ChatFinishReason.ToolCalls, replayed.FinishReason);
            Assert.NotEmpty(live.Tools);
        }
        else
        {
            var live = MessagesSse.Blocks(MessagesSse.AssertWellOrdered(MessagesSse.Parse(client.Written)));
            var replayed = JsonNode.Parse(later.Written)!["content"]!.AsArray();
            Assert.Equal(live.Select(b => b.Type), replayed.Select(b => (string)b!["type"]!));
            Assert.Equal(live.Where(b => b.Type == "text").Select(b => b.Content), replayed.Where(b => (string)b!["type"]! == "text").Select(b => (string)b!["text"]!));
            var liveTools = live.Where(b => b.Type == "tool_use").ToList();
            var replayedTools = replayed.Where(b => (string)b!["type"]! == "tool_use").ToList();
            Assert.NotEmpty(liveTools);
            for (var i = 0; i < liveTools.Count; i++)
            {
                Assert.Equal((string?)liveTools[i].Start["id"], (string?)replayedTools[i]!["id"]);
                Assert.Equal((string?)liveTools[i].Start["name"], (string?)replayedTools[i]!["name"]);
                var liveInput = liveTools[i].Content.Length == 0 ? new JsonObject() : JsonNode.Parse(liveTools[i].Content);
                Assert.True(JsonNode.DeepEquals(liveInput, replayedTools[i]!["input"]), $"tool {i}: {liveTools[i].Content} vs {replayedTools[i]!["input"]}");
            }

            Assert.Equal("tool_use", (string?)JsonNode.Parse(later.Written)!["stop_reason"]);
        }
    }

    [Theory]
    [InlineData("openai", "error-mid-stream", ProviderKind.OpenAi, true)]
    [InlineData("openai", "error-mid-stream", ProviderKind.OpenAi, false)]
    [InlineData("openai", "openrouter-error", ProviderKind.OpenAi, true)]
    [InlineData("anthropic", "error-mid-stream", ProviderKind.Anthropic, true)]
    [InlineData("anthropic", "error-mid-stream", ProviderKind.Anthropic, false)]
    public async Task A_stream_ended_by_an_error_is_not_stored(string protocol, string name, ProviderKind kind, bool sameProtocol)
    {
        var openAiClient = (kind == ProviderKind.OpenAi) == sameProtocol;
        using var client = openAiClient ? ReplayClient.OpenAi(stream: true) : ReplayClient.Anthropic(stream: true);

        var recorder = await RelayAsync(client, kind, Stream(protocol, name));

        Assert.NotEqual("", client.Written);
        Assert.Null(recorder.Build("up"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_stream_cut_before_its_finish_is_not_stored(bool sameProtocol)
    {
        // Anthropic's stream up to the second tool's arguments: no message_delta, no message_stop.
        var source = Stream("anthropic", "parallel-tools");
        var cut = source[..source.IndexOf("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}", StringComparison.Ordinal)];
        using var client = sameProtocol ? ReplayClient.Anthropic(stream: true) : ReplayClient.OpenAi(stream: true);

        var recorder = await RelayAsync(client, ProviderKind.Anthropic, cut);

        Assert.Contains("get_time", client.Written);
        Assert.Null(recorder.Build("up"));
    }

    [Fact]
    public async Task A_passed_through_stream_without_its_end_marker_is_not_stored_though_a_translated_one_that_finished_is()
    {
        // OpenAI's stream with its finish and usage but no [DONE]: a client of OpenAI's protocol takes it as cut short,
        // so it is not an answer to keep; translated, Roxy closes it as whole (some servers never send [DONE]).
        var source = Stream("openai", "text-then-tool").Replace("data: [DONE]\n\n", "", StringComparison.Ordinal);

        using var same = ReplayClient.OpenAi(stream: true, includeUsage: true);
        Assert.Null((await RelayAsync(same, ProviderKind.OpenAi, source)).Build("up"));

        using var other = ReplayClient.Anthropic(stream: true);
        var entry = (await RelayAsync(other, ProviderKind.OpenAi, source)).Build("up");
        Assert.Equal("Let me check the weather.", entry?.Text);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_json_answer_is_recorded_and_still_relayed_as_received_to_a_client_of_its_protocol(bool sameProtocol)
    {
        var source = File.ReadAllText(Path.Combine(TestData, "anthropic", "answers", "tools.json"));
        using var client = sameProtocol ? ReplayClient.Anthropic(stream: false) : ReplayClient.OpenAi(stream: false);

        var entry = (await RelayAsync(client, ProviderKind.Anthropic, source, sse: false)).Build("up");

        if (sameProtocol)
        {
            Assert.Equal(source, client.Written);
        }

        Assert.NotNull(entry);
        Assert.Equal("claude-3-5-haiku-20241022", entry.Model);
        Assert.Equal("I'll look both up.", entry.Text);
        Assert.Equal(["toolu_01A09q90qw90lq917835lq9", "toolu_01B7nVh3kQ2xLm8pR4sT6uW9"], entry.ToolCalls.Select(t => t.Id));
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"location":"Zürich","unit":"celsius","days":[1,2]}"""), JsonNode.Parse(entry.ToolCalls[0].Arguments)));
        Assert.Equal("tool_calls", entry.Finish);
        Assert.Equal((330, 77, 300), (entry.PromptTokens, entry.CompletionTokens, entry.CachedTokens));

        // Served later as a stream, to an OpenAI client: the same text and calls.
        using var later = ReplayClient.OpenAi(stream: true);
        await CacheReplay.WriteAsync(later.Request, entry);
        var replayed = OpenAiStreamAnswer(later.OpenAiChunks());
        Assert.Equal(entry.Text, replayed.Text);
        Assert.Equal(entry.ToolCalls.Select(t => (t.Id, t.Name, t.Arguments)), replayed.Tools);
    }

    [Fact]
    public async Task An_openai_json_answer_passed_through_is_recorded_too()
    {
        const string source = """
            {"id":"chatcmpl-x","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,
            "message":{"role":"assistant","content":"Paris.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
            "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}
            """;
        using var client = ReplayClient.OpenAi(stream: false);

        var entry = (await RelayAsync(client, ProviderKind.OpenAi, source, sse: false)).Build("up");

        Assert.Equal(source, client.Written);
        Assert.Equal(("Paris.", "tool_calls", 12L, 3L), (entry!.Text, entry.Finish, entry.PromptTokens, entry.CompletionTokens));
        Assert.Equal(("call_1", "f", """{"a":1}"""), (entry.ToolCalls[0].Id, entry.ToolCalls[0].Name, entry.ToolCalls[0].Arguments));
    }

    /// <summary>An OpenAI stream accumulated by the official SDK's update types: its text and its tool calls by index.</summary>
    private static (string Text, List<(string Id, string Name, string Arguments)> Tools) OpenAiStreamAnswer(List<JsonObject> chunks)
    {
        var text = new StringBuilder();
        var tools = new SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)>();
        foreach (var chunk in chunks)
        {
            var update = ModelReaderWriter.Read<StreamingChatCompletionUpdate>(BinaryData.FromString(chunk.ToJsonString()))!;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            foreach (var call in update.ToolCallUpdates)
            {
                if (!tools.TryGetValue(call.Index, out var tool))
                {
                    tool = (call.ToolCallId, call.FunctionName, new StringBuilder());
                    tools[call.Index] = tool;
                }

                tool.Arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }
        }

        return (text.ToString(), tools.Values.Select(t => (t.Id, t.Name, t.Arguments.ToString())).ToList());
    }
}
