namespace Roxy.FakeUpstream;

/// <summary>
/// What <see cref="FakeAnthropicServer"/> answers. Chosen per request by the <c>x-fake-scenario</c> header or by a
/// model named <c>claude-fake-{scenario}</c> (<see cref="FakeAnthropicServer.ModelFor"/>), since a proxy forwards
/// the model but not the client's headers; any other model gets <see cref="Text"/>.
/// </summary>
public enum AnthropicScenario
{
    /// <summary>Plain text, split into deltas like the OpenAI fake's chunks; <c>end_turn</c>.</summary>
    Text,

    /// <summary>A short text, then two <c>tool_use</c> blocks whose inputs stream as several fragments; <c>tool_use</c>.</summary>
    ParallelTools,

    /// <summary>One <c>tool_use</c> block for a tool without parameters: no argument fragment but an empty one.</summary>
    ToolNoArgs,

    /// <summary>A thinking block (thinking and signature deltas) before the text, which a chat answer leaves out.</summary>
    Thinking,

    /// <summary>Input tokens split across input, cache creation and cache read.</summary>
    Cached,

    /// <summary><c>stop_reason: max_tokens</c>.</summary>
    MaxTokens,

    /// <summary><c>stop_reason: refusal</c>.</summary>
    Refusal,

    /// <summary>A stream: some text, then <c>event: error</c> (<c>overloaded_error</c>). Not streamed: 500 <c>api_error</c>.</summary>
    ErrorMidStream,

    /// <summary>A stream: some text, then the stream ends cleanly without <c>message_delta</c> or <c>message_stop</c>.</summary>
    TruncatedStream,

    /// <summary>A stream: <c>message_start</c>, <c>ping</c>, then <c>event: error</c> (<c>overloaded_error</c>). Not streamed: 529.</summary>
    OverloadedBeforeContent,

    /// <summary>529 <c>overloaded_error</c>.</summary>
    Overloaded,

    /// <summary>429 <c>rate_limit_error</c> with <c>retry-after</c> and <c>anthropic-ratelimit-*</c> headers.</summary>
    RateLimited,

    /// <summary>400 <c>invalid_request_error</c> saying the prompt is too long.</summary>
    PromptTooLong,
}
