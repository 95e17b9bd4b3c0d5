using Roxy.Api.Protocols;

namespace Roxy.Api.Providers.Anthropic;

internal static class AnthropicStopReasons
{
    /// <summary>
    /// Anthropic's <c>stop_reason</c> in OpenAI's vocabulary. <c>pause_turn</c> (a server tool paused a long turn) and
    /// an unknown or missing reason end the answer as <c>stop</c>: OpenAI has no word for them, and an answer that
    /// ended must say it did.
    /// </summary>
    public static FinishReason ToFinish(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => FinishReason.Length,
        "tool_use" => FinishReason.ToolCalls,
        "refusal" => FinishReason.ContentFilter,
        _ => FinishReason.Stop,
    };
}
