namespace Roxy.FakeUpstream;

/// <summary>
/// What <see cref="FakeOpenAiServer"/> answers to a chat request whose model is <c>gpt-fake-{scenario}</c> in kebab
/// case (<see cref="FakeOpenAiServer.ModelFor"/>): Roxy forwards the model but not the client's headers. Any other
/// model gets the stock text on the fast path. The tool scenarios answer with text once the conversation ends with
/// tool results, quoting them, as a model would after using its tools.
/// </summary>
public enum OpenAiScenario
{
    /// <summary>The stock text, as any other model gets it; <c>stop</c>.</summary>
    Text,

    /// <summary>A sentence, then one <c>get_weather</c> call whose arguments stream as fragments; <c>tool_calls</c>.</summary>
    TextThenTool,

    /// <summary>Two calls, <c>get_weather</c> then <c>get_time</c>, each streamed whole before the next; no text.</summary>
    ParallelTools,

    /// <summary>Two calls whose argument fragments alternate (OpenAI indexes them, so a client can tell them apart).</summary>
    InterleavedTools,

    /// <summary>One <c>get_status</c> call whose arguments are the empty string, as some compatible servers send.</summary>
    ToolNoArgs,

    /// <summary>One <c>get_weather</c> call that ends with <c>finish_reason: stop</c>, as some compatible servers do.</summary>
    ToolThenStop,

    /// <summary>The stock text; usage of 1500 prompt tokens of which 1280 were read from OpenAI's prompt cache.</summary>
    Cached,

    /// <summary>The stock text cut off: <c>finish_reason: length</c>.</summary>
    Length,

    /// <summary>A short text, then <c>finish_reason: content_filter</c>.</summary>
    ContentFilter,

    /// <summary>A stream: two text chunks, then a <c>data: {"error":…}</c> chunk and the end, without [DONE]. Not streamed: 500.</summary>
    ErrorMidStream,

    /// <summary>A stream: the stock text, its finish and usage, then the end without <c>[DONE]</c>, as some compatible servers do.</summary>
    NoDone,

    /// <summary>429 <c>rate_limit_exceeded</c> with <c>Retry-After: 7</c> and <c>x-ratelimit-*</c> headers.</summary>
    RateLimited,

    /// <summary>503, OpenAI's "engine is currently overloaded".</summary>
    Overloaded,
}
