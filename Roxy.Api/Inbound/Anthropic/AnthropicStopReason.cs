using Roxy.Api.Protocols;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>Why an answer ended, in Anthropic's words (<c>stop_reason</c>).</summary>
public static class AnthropicStopReason
{
    /// <summary>
    /// <c>stop</c> is <c>end_turn</c>, <c>length</c> <c>max_tokens</c>, <c>tool_calls</c> <c>tool_use</c> and
    /// <c>content_filter</c> <c>refusal</c>. An answer with tool calls that says <c>stop</c> (or nothing) is
    /// <c>tool_use</c>: several OpenAI-compatible servers say <c>stop</c>, and an Anthropic client runs the tools only
    /// on <c>tool_use</c>. A provider cannot say which stop sequence matched, so <c>stop_sequence</c> is never used.
    /// </summary>
    public static ReadOnlySpan<byte> For(FinishReason finish, bool hasToolCalls) => finish switch
    {
        FinishReason.Length => "max_tokens"u8,
        FinishReason.ContentFilter => "refusal"u8,
        FinishReason.ToolCalls => "tool_use"u8,
        _ => hasToolCalls ? "tool_use"u8 : "end_turn"u8,
    };
}
