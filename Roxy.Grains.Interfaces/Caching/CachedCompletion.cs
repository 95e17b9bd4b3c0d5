namespace Roxy.Grains.Caching;

/// <summary>
/// A cached answer in Roxy's canonical form, whatever protocol the provider and the client spoke: replayed as JSON or
/// as a stream, in the client's protocol. Stored as JSON in <c>roxy_prompt_cache</c>.
/// </summary>
/// <param name="Provider">The provider that answered, for the savings it stands for.</param>
/// <param name="Model">The model that answered, as the provider named it.</param>
/// <param name="Finish">OpenAI's vocabulary: <c>stop</c>, <c>length</c>, <c>tool_calls</c>, <c>content_filter</c>.</param>
[GenerateSerializer, Immutable, Alias("roxy.CachedCompletion")]
public sealed record CachedCompletion(
    [property: Id(0)] string Provider,
    [property: Id(1)] string Model,
    [property: Id(2)] string? Text,
    [property: Id(3)] IReadOnlyList<CachedToolCall> ToolCalls,
    [property: Id(4)] string Finish,
    [property: Id(5)] long PromptTokens,
    [property: Id(6)] long CompletionTokens,
    [property: Id(7)] long CachedTokens);
