using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Roxy.Api.Commands;
using Roxy.Api.Protocols;

namespace Roxy.Tests.Unit.Inbound.Anthropic;

/// <summary>A <c>#roxy</c> command's answer to a client of <c>/v1/messages</c>, as the Anthropic encoders write it.</summary>
public sealed class AnthropicCommandEncoderTests
{
    private const string Markdown = "**Roxy commands**\n\n- `#roxy help`: this list \"quoted\"";

    private static async Task<(HttpResponse Response, string Body)> AnswerAsync(bool stream)
    {
        var http = new DefaultHttpContext();
        var body = new MemoryStream();
        http.Response.Body = body;
        await CommandResponder.WriteAsync(http, "req_00112233445566778899aabb", Markdown, WireProtocol.AnthropicMessages, stream, includeUsage: true, TimeProvider.System);
        return (http.Response, Encoding.UTF8.GetString(body.ToArray()));
    }

    [Fact]
    public async Task Streamed_answer_is_one_text_block_from_model_roxy_ending_the_turn_at_no_cost()
    {
        var (response, body) = await AnswerAsync(stream: true);

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("text/event-stream", response.ContentType);
        Assert.Equal("roxy", response.Headers["x-roxy-model"]);
        Assert.Equal("roxy", response.Headers["x-roxy-provider"]);
        Assert.Equal("bypass", response.Headers["x-roxy-cache"]);
        var parsed = AnthropicStreamEncoderRules.Check(body);
        Assert.Equal(
            ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            parsed.Names);
        Assert.Equal("roxy", (string?)parsed.Message["model"]);
        Assert.Equal("msg_00112233445566778899aabb", (string?)parsed.Message["id"]);
        Assert.Equal(Markdown, parsed.Text);
        Assert.Equal("end_turn", parsed.StopReason);
        Assert.Equal(0, (long)parsed.Usage!["input_tokens"]!);
        Assert.Equal(0, (long)parsed.Usage["output_tokens"]!);
    }

    [Fact]
    public async Task Whole_answer_is_a_message_from_model_roxy()
    {
        var (response, body) = await AnswerAsync(stream: false);

        Assert.Equal("application/json", response.ContentType);
        Assert.Equal("roxy", response.Headers["x-roxy-model"]);
        var expected = JsonNode.Parse($$$"""
            {"id":"msg_00112233445566778899aabb","type":"message","role":"assistant","model":"roxy",
             "content":[{"type":"text","text":{{{System.Text.Json.JsonSerializer.Serialize(Markdown)}}}}],
             "stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(body)), body);
    }
}
