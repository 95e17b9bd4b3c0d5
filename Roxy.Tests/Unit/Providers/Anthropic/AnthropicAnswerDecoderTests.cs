using System.Text;
using Roxy.Api.Protocols;
using Roxy.Api.Providers.Anthropic;

namespace Roxy.Tests.Unit.Providers.Anthropic;

public sealed class AnthropicAnswerDecoderTests
{
    private const string Message =
        """{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"cache_read_input_tokens":4,"output_tokens":2}}""";

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"id":"chatcmpl-1","object":"chat.completion","choices":[]}""")]
    [InlineData("""{"type":"error","error":{"type":"api_error","message":"x"}}""")]
    [InlineData("""{"type":"message","content":"a string"}""")]
    [InlineData("""{"type":"message","content":[]} trailing""")]
    [InlineData("""{"type":"message","id":"\uD800","content":[{"type":"text","text":"\uDC00"}]}""")]
    [InlineData("""{"type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":{"a":"\uD800"}}]}""")]
    public void Anything_but_a_message_with_a_content_array_is_not_well_formed(string body) =>
        Assert.False(AnthropicAnswerDecoder.Decode(Encoding.UTF8.GetBytes(body), translate: true).WellFormed);

    [Fact]
    public void A_message_decodes_with_its_usage()
    {
        var answer = AnthropicAnswerDecoder.Decode(Encoding.UTF8.GetBytes(Message), translate: true);

        Assert.True(answer.WellFormed);
        Assert.True(answer.UsageKnown);
        Assert.Equal(new TokenUsage(7, 2, 4), answer.Usage);
        Assert.Equal("Hi", answer.Completion!.Text);
        Assert.Equal(FinishReason.Stop, answer.Completion.Finish);
        Assert.Empty(answer.Completion.ToolCalls);
    }

    [Fact]
    public void A_client_of_the_same_protocol_gets_the_bytes_not_a_decoded_completion()
    {
        var answer = AnthropicAnswerDecoder.Decode(Encoding.UTF8.GetBytes(Message), translate: false);

        Assert.True(answer.WellFormed);
        Assert.Null(answer.Completion);
        Assert.Equal(new TokenUsage(7, 2, 4), answer.Usage);
    }

    [Fact]
    public void A_message_without_usage_says_so()
    {
        var answer = AnthropicAnswerDecoder.Decode("""{"type":"message","content":[{"type":"tool_use","id":"toolu_1","name":"f"}]}"""u8, translate: true);

        Assert.True(answer.WellFormed);
        Assert.False(answer.UsageKnown);
        Assert.Null(answer.Completion!.Text);
        Assert.Equal("{}", Assert.Single(answer.Completion.ToolCalls).Arguments);
    }
}
