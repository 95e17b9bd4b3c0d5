using System.Text;
using Roxy.Api.Configuration;
using Roxy.Api.Protocols;
using Roxy.Api.Providers.OpenAi;

namespace Roxy.Tests.Unit.Providers.OpenAi;

public sealed class OpenAiAnswerDecoderTests
{
    private const string TextAnswer = """
        {
          "id": "chatcmpl-C0nEaNsW3rXy7Zk3Rr9pLmA1bC2dE",
          "object": "chat.completion",
          "created": 1753967011,
          "model": "gpt-4o-mini-2024-07-18",
          "choices": [
            {
              "index": 0,
              "message": {"role": "assistant", "content": "Paris is the capital of France.", "refusal": null, "annotations": []},
              "logprobs": null,
              "finish_reason": "stop"
            }
          ],
          "usage": {
            "prompt_tokens": 1290, "completion_tokens": 8, "total_tokens": 1298,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
          },
          "service_tier": "default",
          "system_fingerprint": "fp_560af6e559"
        }
        """;

    private const string ToolAnswer = """
        {
          "id": "chatcmpl-C0nFtools",
          "object": "chat.completion",
          "created": 1753967011,
          "model": "gpt-4o-2024-08-06",
          "choices": [
            {
              "index": 0,
              "message": {
                "role": "assistant",
                "content": "Checking both.",
                "tool_calls": [
                  {"id": "call_1x", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
                  {"id": "call_2y", "type": "function", "function": {"name": "get_time", "arguments": ""}}
                ],
                "refusal": null
              },
              "logprobs": null,
              "finish_reason": "tool_calls"
            }
          ],
          "usage": {"prompt_tokens": 82, "completion_tokens": 40, "total_tokens": 122}
        }
        """;

    private static DecodedAnswerView Decode(string json)
    {
        var answer = OpenAiAnswerDecoder.Decode(Encoding.UTF8.GetBytes(json));
        return new DecodedAnswerView(answer.WellFormed, answer.Usage, answer.UsageKnown, answer.Completion);
    }

    private sealed record DecodedAnswerView(bool WellFormed, TokenUsage Usage, bool UsageKnown, ChatCompletion? Completion);

    [Fact]
    public void Text_answer_is_read_with_its_cached_tokens()
    {
        var answer = Decode(TextAnswer);

        Assert.True(answer.WellFormed);
        Assert.True(answer.UsageKnown);
        Assert.Equal(new TokenUsage(1290, 8, 1024), answer.Usage);
        var completion = answer.Completion!;
        Assert.Equal("chatcmpl-C0nEaNsW3rXy7Zk3Rr9pLmA1bC2dE", completion.Id);
        Assert.Equal("gpt-4o-mini-2024-07-18", completion.Model);
        Assert.Equal("Paris is the capital of France.", completion.Text);
        Assert.Empty(completion.ToolCalls);
        Assert.Equal(FinishReason.Stop, completion.Finish);
        Assert.Equal(answer.Usage, completion.Usage);
    }

    [Fact]
    public void Text_and_tool_calls_both_survive()
    {
        var completion = Decode(ToolAnswer).Completion!;

        Assert.Equal("Checking both.", completion.Text);
        Assert.Equal(
            [new ToolCall("call_1x", "get_weather", """{"location":"Paris"}"""), new ToolCall("call_2y", "get_time", "{}")],
            completion.ToolCalls);
        Assert.Equal(FinishReason.ToolCalls, completion.Finish);
        Assert.Equal(new TokenUsage(82, 40), completion.Usage);
    }

    [Fact]
    public void Arguments_sent_as_an_object_are_kept_as_its_json_text()
    {
        var completion = Decode("""{"id":"x","model":"llama3","choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"id":"call_0","function":{"name":"f","arguments":{"a":[1,2]}}}]},"finish_reason":"tool_calls"}]}""").Completion!;

        Assert.Equal("""{"a":[1,2]}""", Assert.Single(completion.ToolCalls).Arguments);
        Assert.False(Decode("""{"id":"x","choices":[{"index":0,"message":{"content":"a"}}]}""").UsageKnown);
    }

    [Fact]
    public void Content_parts_refusals_and_reasoning()
    {
        Assert.Equal("Hello world", Decode("""{"choices":[{"index":0,"message":{"content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"Hello"},{"type":"text","text":" world"}]},"finish_reason":"stop"}]}""").Completion!.Text);
        Assert.Equal("I can't help with that.", Decode("""{"choices":[{"index":0,"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}""").Completion!.Text);
        var reasoning = Decode("""{"choices":[{"index":0,"message":{"content":"4","reasoning_content":"2+2 is 4"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"prompt_cache_hit_tokens":3}}""");
        Assert.Equal("4", reasoning.Completion!.Text);
        Assert.Equal(new TokenUsage(5, 9, 3), reasoning.Usage);
    }

    [Theory]
    [InlineData("length", FinishReason.Length)]
    [InlineData("content_filter", FinishReason.ContentFilter)]
    [InlineData("function_call", FinishReason.ToolCalls)]
    [InlineData("eos", FinishReason.Stop)]
    public void Finish_reasons_are_read(string reason, FinishReason expected)
    {
        Assert.Equal(expected, Decode($$"""{"choices":[{"index":0,"message":{"content":"x"},"finish_reason":"{{reason}}"}]}""").Completion!.Finish);
    }

    [Theory]
    [InlineData("""{"id":"x","error":null,"choices":[{"index":0,"message":{"content":"Fine."},"finish_reason":"stop"}]}""")]
    [InlineData("""{"id":"x","choices":[{"index":0,"message":{"content":"Fine."},"finish_reason":"stop"}],"error":null}""")]
    public void A_null_error_on_a_success_is_still_the_answer(string body)
    {
        var answer = Decode(body);

        Assert.True(answer.WellFormed);
        Assert.Equal("Fine.", answer.Completion!.Text);
        Assert.Equal(FinishReason.Stop, answer.Completion.Finish);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"choices":[{"index":0,"message":{"content":"x"}}]} trailing""")]
    [InlineData("""{"error":{"message":"Provider returned error","code":502}}""")]
    [InlineData("""{"choices":[{"index":0,"message":{"content":"x"}}],"error":{"message":"Upstream failed","code":502}}""")]
    [InlineData("""{"choices":[{"index":0,"message":{"content":"x"}}],"error":"overloaded"}""")]
    [InlineData("""{"id":"x","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0}}""")]
    [InlineData("""{"id":"x","object":"list","data":[]}""")]
    [InlineData("""{"choices":[{"index":0,"message":{"content":"\ud800"}}]}""")]
    [InlineData("""{"choices":[{"index":0,"message":{"content":"cut""")]
    public void Bodies_that_are_not_a_completion_are_not_well_formed(string body)
    {
        var answer = Decode(body);

        Assert.False(answer.WellFormed);
        Assert.Null(answer.Completion);
    }

    [Fact]
    public void The_provider_decodes_only_for_a_client_of_another_protocol()
    {
        using var http = new HttpClient();
        var provider = new OpenAiCompatibleProvider(
            new ResolvedProvider("openai", ProviderKind.OpenAi, new Uri("http://127.0.0.1:1/v1"), new Dictionary<string, string>(),
                TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
            http);
        var body = Encoding.UTF8.GetBytes(TextAnswer);

        var same = provider.DecodeAnswer(body, WireProtocol.OpenAiChat);
        Assert.True(same.WellFormed);
        Assert.Null(same.Completion);
        Assert.Equal(new TokenUsage(1290, 8, 1024), same.Usage);

        var other = provider.DecodeAnswer(body, WireProtocol.AnthropicMessages);
        Assert.True(other.WellFormed);
        Assert.Equal("Paris is the capital of France.", other.Completion!.Text);
        Assert.Equal(new TokenUsage(1290, 8, 1024), other.Usage);
    }
}
