using System.Buffers;
using System.Text.Json.Nodes;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Protocols;

namespace Roxy.Tests.Unit.Inbound.Anthropic;

public sealed class AnthropicMessageEncoderTests
{
    private static JsonObject Encode(ChatCompletion completion, long inputEstimate = 11)
    {
        var output = new ArrayBufferWriter<byte>();
        AnthropicMessageEncoder.Write(completion, "msg_1", "claude-client-model", inputEstimate, output);
        return JsonNode.Parse(output.WrittenSpan)!.AsObject();
    }

    private static ChatCompletion Completion(string? text, FinishReason finish, params ToolCall[] calls) =>
        new("chatcmpl-1", "gpt-4o", text, calls, finish, new TokenUsage(1290, 8, 1024), UsageKnown: true);

    [Fact]
    public void Text_answer_is_an_anthropic_message()
    {
        var message = Encode(Completion("Paris.", FinishReason.Stop));

        var expected = JsonNode.Parse("""
            {"id":"msg_1","type":"message","role":"assistant","model":"gpt-4o",
             "content":[{"type":"text","text":"Paris."}],
             "stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":266,"output_tokens":8,"cache_read_input_tokens":1024}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, message), message.ToJsonString());
    }

    [Fact]
    public void Text_and_tool_calls_both_survive_with_inputs_as_objects()
    {
        var message = Encode(Completion(
            "Checking.",
            FinishReason.Stop,
            new ToolCall("call_1x", "get_weather", """{"location":"Paris","units":["c"]}"""),
            new ToolCall("", "get_time", "{}")));

        var content = message["content"]!.AsArray();
        Assert.Equal(["text", "tool_use", "tool_use"], content.Select(c => (string?)c!["type"]));
        Assert.Equal("call_1x", (string?)content[1]!["id"]);
        Assert.Equal("get_weather", (string?)content[1]!["name"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"location":"Paris","units":["c"]}"""), content[1]!["input"]));
        Assert.Equal("toolu_1_1", (string?)content[2]!["id"]);
        Assert.Empty(content[2]!["input"]!.AsObject());
        // OpenAI-compatible servers that say stop for a tool call: the client must still run the tool.
        Assert.Equal("tool_use", (string?)message["stop_reason"]);
    }

    [Theory]
    [InlineData("", "{}")]
    [InlineData("   ", "{}")]
    [InlineData("""{"a":1}""", """{"a":1}""")]
    [InlineData(" {\n  \"a\": 1\n} ", """{"a":1}""")]
    [InlineData("""{"path":"src/""", """{"_raw_arguments":"{\"path\":\"src/"}""")]
    [InlineData("[1,2]", """{"_raw_arguments":"[1,2]"}""")]
    [InlineData("\"text\"", """{"_raw_arguments":"\"text\""}""")]
    [InlineData("""{"a":1} {"b":2}""", """{"_raw_arguments":"{\"a\":1} {\"b\":2}"}""")]
    public void Arguments_that_are_not_an_object_are_kept_under_a_key_of_their_own(string arguments, string input)
    {
        var message = Encode(Completion(null, FinishReason.ToolCalls, new ToolCall("call_1", "f", arguments)));

        var block = Assert.Single(message["content"]!.AsArray())!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(input), block["input"]), block["input"]!.ToJsonString());
    }

    [Theory]
    [InlineData(FinishReason.Length, "max_tokens")]
    [InlineData(FinishReason.ContentFilter, "refusal")]
    [InlineData(FinishReason.ToolCalls, "tool_use")]
    [InlineData(FinishReason.None, "end_turn")]
    public void Finish_reasons_become_stop_reasons(FinishReason finish, string expected)
    {
        Assert.Equal(expected, (string?)Encode(Completion("x", finish))["stop_reason"]);
    }

    [Fact]
    public void An_answer_without_usage_or_model_says_the_counted_prompt_and_the_clients_model()
    {
        var message = Encode(new ChatCompletion("", "", null, [], FinishReason.Stop, default, UsageKnown: false), inputEstimate: 23);

        Assert.Equal("claude-client-model", (string?)message["model"]);
        Assert.Empty(message["content"]!.AsArray());
        Assert.Equal(23, (long)message["usage"]!["input_tokens"]!);
        Assert.Equal(0, (long)message["usage"]!["output_tokens"]!);
    }

    [Fact]
    public void Message_ids_are_made_from_request_ids()
    {
        Assert.Equal("msg_0a1b2c3d4e5f000000000001", AnthropicMessageEncoder.MessageId("req_0a1b2c3d4e5f000000000001"));
        Assert.Equal("msg_custom", AnthropicMessageEncoder.MessageId("custom"));
    }
}
