using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Roxy.Api.Caching;
using Roxy.Grains.Caching;
using Roxy.Tests.Fixtures;
using Roxy.Tests.Unit.Inbound.Anthropic;

namespace Roxy.Tests.Unit.Caching;

/// <summary>A cached entry written through the real sinks of both protocols, in both modes, and read back as their clients do.</summary>
public sealed class CacheReplayTests
{
    // Long enough for several deltas, with astral characters where a fixed cut would split their surrogate pairs.
    private const string Text = "The weather in Paris is mild today; let me check 🌍🌍🌍 the details for you, and the time as well 🕐.";
    private const string WeatherArguments = """{"location":"Paris, France","unit":"celsius","days":[1,2,3]}""";

    private static readonly CachedCompletion Entry = new(
        "openai",
        "gpt-4o-mini-2024-07-18",
        Text,
        [new CachedToolCall("call_a", "get_weather", WeatherArguments), new CachedToolCall("call_b", "get_time", "{}")],
        "tool_calls",
        PromptTokens: 84,
        CompletionTokens: 24,
        CachedTokens: 16);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_openai_stream_is_well_formed_with_a_fresh_id_several_deltas_and_usage_only_when_asked(bool includeUsage)
    {
        using var client = ReplayClient.OpenAi(stream: true, includeUsage);
        client.Request.CacheResult = "hit";

        await CacheReplay.WriteAsync(client.Request, Entry);

        var chunks = client.OpenAiChunks();
        var expectedCreated = ReplayClient.Now.ToUnixTimeSeconds();
        Assert.All(chunks, c =>
        {
            Assert.Equal("chatcmpl-" + client.RequestId, (string?)c["id"]);
            Assert.Equal("chat.completion.chunk", (string?)c["object"]);
            Assert.Equal(expectedCreated, (long)c["created"]!);
            Assert.Equal(Entry.Model, (string?)c["model"]);
        });

        var withChoices = chunks.Where(c => c["choices"]!.AsArray().Count > 0).ToList();
        Assert.Equal("assistant", (string?)withChoices[0]["choices"]![0]!["delta"]!["role"]);
        Assert.Single(withChoices, c => c["choices"]![0]!["delta"]!["role"] is not null);

        var contents = withChoices.Select(c => (string?)c["choices"]![0]!["delta"]!["content"]).OfType<string>().ToList();
        Assert.True(contents.Count >= 4, $"the text came in {contents.Count} deltas");
        Assert.Equal(Text, string.Concat(contents));
        Assert.All(contents, piece => Assert.False(char.IsHighSurrogate(piece[^1]) || char.IsLowSurrogate(piece[0]), $"a delta splits a surrogate pair: {piece}"));

        // The official SDK reads the same stream back: text, tool calls by index, finish, usage.
        var updates = chunks.Select(c => ModelReaderWriter.Read<StreamingChatCompletionUpdate>(BinaryData.FromString(c.ToJsonString()))!).ToList();
        Assert.Equal(Text, string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text)));
        var toolUpdates = updates.SelectMany(u => u.ToolCallUpdates).ToList();
        Assert.Equal(["call_a", "call_b"], toolUpdates.Where(t => t.ToolCallId is not null).Select(t => t.ToolCallId));
        Assert.Equal(["get_weather", "get_time"], toolUpdates.Where(t => t.FunctionName is not null).Select(t => t.FunctionName));
        var weather = string.Concat(toolUpdates.Where(t => t.Index == 0).Select(t => t.FunctionArgumentsUpdate?.ToString()));
        Assert.Equal(WeatherArguments, weather);
        Assert.True(toolUpdates.Count(t => t.Index == 0) >= 3, "the arguments came in several fragments");
        Assert.Equal("{}", string.Concat(toolUpdates.Where(t => t.Index == 1).Select(t => t.FunctionArgumentsUpdate?.ToString())));
        Assert.Single(updates, u => u.FinishReason is not null);
        Assert.Equal(ChatFinishReason.ToolCalls, updates.Single(u => u.FinishReason is not null).FinishReason);

        var usage = chunks.Where(c => c["usage"] is JsonObject).ToList();
        if (includeUsage)
        {
            var last = Assert.Single(usage);
            Assert.Same(chunks[^1], last);
            Assert.Empty(last["choices"]!.AsArray());
            Assert.Equal(84, updates[^1].Usage.InputTokenCount);
            Assert.Equal(24, updates[^1].Usage.OutputTokenCount);
            Assert.Equal(16, updates[^1].Usage.InputTokenDetails.CachedTokenCount);
        }
        else
        {
            Assert.Empty(usage);
        }

        var headers = client.Http.Response.Headers;
        Assert.Equal("text/event-stream", headers.ContentType);
        Assert.Equal("hit", headers["x-roxy-cache"]);
        Assert.Equal("openai", headers["x-roxy-provider"]);
        Assert.Equal(Entry.Model, headers["x-roxy-model"]);
        Assert.False(headers.ContainsKey("x-roxy-key"));
        Assert.Equal(new Api.Routing.RouteTarget("openai", Entry.Model), client.Request.Answered);
        Assert.Null(client.Request.KeyId);
        Assert.Equal((84, 24), (client.Request.PromptTokens, client.Request.CompletionTokens));
        Assert.NotEqual(0, client.Request.FirstByteAt);
    }

    [Fact]
    public async Task An_openai_json_answer_has_a_fresh_id_and_creation_time_and_the_whole_answer()
    {
        using var client = ReplayClient.OpenAi(stream: false, requestId: "req_ffeeddccbbaa998877665544");

        await CacheReplay.WriteAsync(client.Request, Entry);

        var body = JsonNode.Parse(client.Written)!;
        Assert.Equal("chatcmpl-req_ffeeddccbbaa998877665544", (string?)body["id"]);
        Assert.Equal(ReplayClient.Now.ToUnixTimeSeconds(), (long)body["created"]!);
        Assert.Equal("application/json", client.Http.Response.ContentType);
        Assert.Equal(Encoding.UTF8.GetByteCount(client.Written), client.Http.Response.ContentLength);

        var completion = ModelReaderWriter.Read<ChatCompletion>(BinaryData.FromString(client.Written))!;
        Assert.Equal(Text, Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Equal(["call_a", "call_b"], completion.ToolCalls.Select(t => t.Id));
        Assert.Equal(["get_weather", "get_time"], completion.ToolCalls.Select(t => t.FunctionName));
        Assert.Equal(WeatherArguments, completion.ToolCalls[0].FunctionArguments.ToString());
        Assert.Equal((84, 24, 16), (completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount, completion.Usage.InputTokenDetails.CachedTokenCount));
        Assert.Equal("gpt-4o-mini-2024-07-18", completion.Model);
    }

    [Fact]
    public async Task An_anthropic_stream_runs_from_message_start_to_message_stop_in_order()
    {
        using var client = ReplayClient.Anthropic(stream: true);

        await CacheReplay.WriteAsync(client.Request, Entry);

        var written = client.Written;
        var parsed = AnthropicStreamEncoderRules.Check(written);
        MessagesSse.AssertWellOrdered(MessagesSse.Parse(written));
        Assert.Equal("msg_00112233445566778899aabb", (string?)parsed.Message["id"]);
        Assert.Equal(Entry.Model, (string?)parsed.Message["model"]);
        Assert.Equal(Text, parsed.Text);
        Assert.Equal("tool_use", parsed.StopReason);
        Assert.Equal(["call_a", "call_b"], parsed.Tools.Select(t => t.Id));
        Assert.Equal(["get_weather", "get_time"], parsed.Tools.Select(t => t.Name));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(WeatherArguments), parsed.Tools[0].Input));
        Assert.Empty(parsed.Tools[1].Input!);
        Assert.Equal(68, (long)parsed.Usage!["input_tokens"]!);
        Assert.Equal(16, (long)parsed.Usage!["cache_read_input_tokens"]!);
        Assert.Equal(24, (long)parsed.Usage!["output_tokens"]!);

        var textDeltas = MessagesSse.Parse(written).Count(e => e.Name == "content_block_delta" && (string?)e.Data["delta"]!["type"] == "text_delta");
        Assert.True(textDeltas >= 4, $"the text came in {textDeltas} deltas");
    }

    [Fact]
    public async Task An_anthropic_json_answer_is_a_message_with_text_and_tool_use_blocks()
    {
        using var client = ReplayClient.Anthropic(stream: false);

        await CacheReplay.WriteAsync(client.Request, Entry);

        var message = JsonNode.Parse(client.Written)!;
        Assert.Equal("msg_00112233445566778899aabb", (string?)message["id"]);
        Assert.Equal("message", (string?)message["type"]);
        Assert.Equal("tool_use", (string?)message["stop_reason"]);
        var content = message["content"]!.AsArray();
        Assert.Equal(["text", "tool_use", "tool_use"], content.Select(b => (string)b!["type"]!));
        Assert.Equal(Text, (string?)content[0]!["text"]);
        Assert.Equal("get_weather", (string?)content[1]!["name"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(WeatherArguments), content[1]!["input"]));
        Assert.Equal(24, (long)message["usage"]!["output_tokens"]!);
    }

    [Fact]
    public async Task An_empty_answer_still_streams_the_role_a_finish_and_the_end()
    {
        using var client = ReplayClient.OpenAi(stream: true);

        await CacheReplay.WriteAsync(client.Request, Entry with { Text = null, ToolCalls = [], Finish = "length" });

        var chunk = Assert.Single(client.OpenAiChunks());
        Assert.Equal("assistant", (string?)chunk["choices"]![0]!["delta"]!["role"]);
        Assert.Equal("length", (string?)chunk["choices"]![0]!["finish_reason"]);
    }

    [Theory]
    [InlineData("", 24, new string[0])]
    [InlineData("short", 24, new[] { "short" })]
    [InlineData("abcdefgh", 3, new[] { "abc", "def", "gh" })]
    // A cut at 3 would leave the first half of 🌍 behind: the piece ends before the pair instead.
    [InlineData("ab🌍cd", 3, new[] { "ab", "🌍c", "d" })]
    [InlineData("🌍🌍", 1, new[] { "🌍", "🌍" })]
    public void Text_is_cut_into_pieces_never_inside_a_surrogate_pair(string text, int size, string[] expected) =>
        Assert.Equal(expected, CacheReplay.Pieces(text, size).Select(r => text[r]));
}
