using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Api.Tenancy;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Inbound.Anthropic;

public sealed class AnthropicMessagesSinkTests : IDisposable
{
    private readonly DefaultHttpContext _http = new();
    private readonly MemoryStream _body = new();
    private readonly PooledBuffer _requestBody = new(16);
    private readonly ProxyRequest _request;
    private readonly AnthropicMessagesSink _sink;

    public AnthropicMessagesSinkTests()
    {
        _http.Response.Body = _body;
        _request = new ProxyRequest(
            _http,
            "req_00112233445566778899aabb",
            new TenantIdentity("acme", "token-1", TenantRole.Member),
            _requestBody,
            new MessagesRequestInfo { Model = "claude-sonnet-4-5", Stream = true, MaxTokens = 1024 });
        _sink = new AnthropicMessagesSink(_request);
        _request.Sink = _sink;
    }

    public void Dispose()
    {
        _requestBody.Dispose();
        _body.Dispose();
    }

    private async Task<string> WrittenAsync()
    {
        await _sink.FlushAsync(CancellationToken.None);
        return Encoding.UTF8.GetString(_body.ToArray());
    }

    [Fact]
    public async Task Translated_events_become_an_anthropic_stream_with_the_request_message_id()
    {
        _request.PromptEstimate = 250;
        _sink.WriteEvent(ChatEvent.Started("chatcmpl-9", "gpt-4o"));
        _sink.WriteEvent(ChatEvent.TextDelta("Hi"));
        await _sink.FlushAsync(CancellationToken.None);
        _sink.WriteKeepAlive();
        _sink.WriteEvent(ChatEvent.Finished(FinishReason.Stop));
        _sink.WriteEvent(ChatEvent.UsageReported(new TokenUsage(240, 2)));
        _sink.Complete();

        var parsed = AnthropicStreamEncoderRules.Check(await WrittenAsync());
        Assert.Equal("msg_00112233445566778899aabb", (string?)parsed.Message["id"]);
        Assert.Equal(250, (long)parsed.Message["usage"]!["input_tokens"]!);
        Assert.Equal("Hi", parsed.Text);
        Assert.Contains("ping", parsed.Names);
        Assert.Equal(240, (long)parsed.Usage!["input_tokens"]!);
    }

    [Fact]
    public async Task Message_start_never_says_zero_input_tokens()
    {
        _request.PromptEstimate = 0;
        _sink.WriteEvent(ChatEvent.TextDelta("x"));
        _sink.Complete();

        var parsed = AnthropicStreamEncoderRules.Check(await WrittenAsync());
        Assert.Equal(1, (long)parsed.Message["usage"]!["input_tokens"]!);
    }

    [Fact]
    public async Task A_translated_stream_that_said_nothing_still_completes_as_a_message()
    {
        _sink.Complete();

        var parsed = AnthropicStreamEncoderRules.Check(await WrittenAsync());
        Assert.Equal(["message_start", "message_delta", "message_stop"], parsed.Names);
        Assert.Equal("claude-sonnet-4-5", (string?)parsed.Message["model"]);
    }

    [Fact]
    public async Task A_passed_through_stream_is_written_as_received_and_gets_nothing_added()
    {
        var upstream = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"u8.ToArray();
        _sink.WriteRaw(new ReadOnlySequence<byte>(upstream));
        _sink.Complete();

        Assert.Equal(Encoding.UTF8.GetString(upstream), await WrittenAsync());
    }

    [Fact]
    public async Task A_passed_through_stream_that_fails_ends_with_anthropics_error_event_and_no_second_message()
    {
        var upstream = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_up","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":0}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}


            """.Replace("\r\n", "\n", StringComparison.Ordinal);
        _sink.WriteRaw(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(upstream)));
        _sink.WriteEvent(ChatEvent.Failed("server_error", "Provider 'anthropic' ended the stream before the answer was complete."));
        _sink.Complete();

        var written = await WrittenAsync();
        Assert.StartsWith(upstream, written, StringComparison.Ordinal);
        var parsed = AnthropicStreamEncoderRules.Check(written);
        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "error"], parsed.Names);
        Assert.Equal("msg_up", (string?)parsed.Message["id"]);
        Assert.Equal("Hel", parsed.Text);
        Assert.Equal("api_error", (string?)parsed.Error!["type"]);
        Assert.Equal("Provider 'anthropic' ended the stream before the answer was complete.", (string?)parsed.Error["message"]);
    }

    [Fact]
    public async Task A_passed_through_error_keeps_its_mapped_type()
    {
        _sink.WriteRaw(new ReadOnlySequence<byte>("event: message_start\ndata: {\"type\":\"message_start\"}\n\n"u8.ToArray()));
        _sink.WriteEvent(ChatEvent.Failed("rate_limit_exceeded", "Slow down"));

        var written = await WrittenAsync();
        var error = written[written.IndexOf("event: error\n", StringComparison.Ordinal)..];
        Assert.EndsWith("\n\n", error);
        var data = JsonNode.Parse(error.Split('\n')[1]["data: ".Length..])!;
        Assert.Equal("error", (string?)data["type"]);
        Assert.Equal("rate_limit_error", (string?)data["error"]!["type"]);
        Assert.Equal("Slow down", (string?)data["error"]!["message"]);
        Assert.Equal(written.IndexOf("event: message_start", StringComparison.Ordinal), written.LastIndexOf("event: message_start", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_whole_answer_is_written_as_a_json_message()
    {
        _request.PromptEstimate = 99;
        await _sink.WriteCompletionAsync(
            new ChatCompletion("chatcmpl-2", "gpt-4o", "Done.", [new ToolCall("call_1", "f", """{"a":1}""")], FinishReason.ToolCalls, new TokenUsage(50, 6, 10), UsageKnown: true),
            CancellationToken.None);

        Assert.Equal("application/json", _http.Response.ContentType);
        var written = await WrittenAsync();
        Assert.Equal(Encoding.UTF8.GetByteCount(written), _http.Response.ContentLength);
        var message = JsonNode.Parse(written)!;
        Assert.Equal("msg_00112233445566778899aabb", (string?)message["id"]);
        Assert.Equal(["text", "tool_use"], message["content"]!.AsArray().Select(c => (string?)c!["type"]));
        Assert.Equal("tool_use", (string?)message["stop_reason"]);
        Assert.Equal(40, (long)message["usage"]!["input_tokens"]!);
        Assert.Equal(10, (long)message["usage"]!["cache_read_input_tokens"]!);
    }
}
