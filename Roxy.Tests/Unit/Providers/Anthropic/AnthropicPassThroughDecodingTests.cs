using System.Text;
using Roxy.Api.Providers;
using Roxy.Api.Providers.Anthropic;

namespace Roxy.Tests.Unit.Providers.Anthropic;

/// <summary>
/// An Anthropic client's stream from an Anthropic target: events pass through as they are, so the decoder only says
/// what each is (for commit and the end) and reads the usage for rotation.
/// </summary>
public sealed class AnthropicPassThroughDecodingTests
{
    private readonly AnthropicStreamDecoder _decoder = new();

    private UpstreamEventKind Decode(string? name, string data) =>
        _decoder.Decode(Encoding.UTF8.GetBytes((name is null ? "" : $"event: {name}\n") + $"data: {data}\n\n"), events: null);

    [Fact]
    public void The_opening_is_held_back_and_the_first_delta_commits_whatever_kind_of_block_it_is()
    {
        Assert.Equal(UpstreamEventKind.Opening, Decode("message_start", """{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":12,"cache_read_input_tokens":30,"output_tokens":1}}}"""));
        Assert.Equal(UpstreamEventKind.Empty, Decode("ping", """{"type": "ping"}"""));
        // A thinking block is content to a client of the same protocol, unlike to an OpenAI client.
        Assert.Equal(UpstreamEventKind.Opening, Decode("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"""));
        Assert.Equal(UpstreamEventKind.Content, Decode("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm"}}"""));
        Assert.Equal(UpstreamEventKind.Content, Decode("content_block_stop", """{"type":"content_block_stop","index":0}"""));
        Assert.False(_decoder.UsageKnown);

        Assert.Equal(UpstreamEventKind.Content, Decode("message_delta", """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}"""));
        Assert.True(_decoder.UsageKnown);
        Assert.Equal(42, _decoder.Usage.PromptTokens);
        Assert.Equal(30, _decoder.Usage.CachedTokens);
        Assert.Equal(7, _decoder.Usage.CompletionTokens);
        Assert.Equal(UpstreamEventKind.Done, Decode("message_stop", """{"type":"message_stop"}"""));
    }

    [Fact]
    public void An_error_before_content_is_an_error_and_an_event_newer_than_this_build_is_kept()
    {
        Assert.Equal(UpstreamEventKind.Error, Decode("error", """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""));
        Assert.Equal(UpstreamEventKind.Opening, Decode("message_annotation", """{"type":"message_annotation"}"""));
    }

    [Fact]
    public void Events_without_a_name_line_are_told_apart_by_their_type()
    {
        Assert.Equal(UpstreamEventKind.Opening, Decode(null, """{"type":"message_start","message":{"usage":{"input_tokens":3}}}"""));
        Assert.Equal(UpstreamEventKind.Content, Decode(null, """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}"""));
        Assert.Equal(UpstreamEventKind.Done, Decode(null, """{"type":"message_stop"}"""));
    }

    [Theory]
    [InlineData("message_start", "{\"type\":\"message_start\",")]
    [InlineData("message_delta", "[1,2]")]
    public void A_broken_event_the_relay_must_read_is_an_error_not_a_throw(string name, string data) =>
        Assert.Equal(UpstreamEventKind.Error, Decode(name, data));
}
