namespace Roxy.Grains.Usage;

/// <summary>
/// What a frontend counted for one tenant since its last report, per UTC day, provider, model, key and token; also the
/// shape of one aggregated row read back. <see cref="KeyId"/> is empty for answers from the prompt cache.
/// </summary>
/// <param name="Requests">Answers counted, cache hits included.</param>
/// <param name="CachedTokens">Input tokens the provider read from its own prompt cache (priced as cached input).</param>
/// <param name="SavedUsd">What cache hits would have cost had they gone upstream.</param>
/// <param name="LastAt">The latest request counted in this row.</param>
[GenerateSerializer, Immutable, Alias("roxy.UsageDelta")]
public sealed record UsageDelta(
    [property: Id(0)] DateOnly Day,
    [property: Id(1)] string Provider,
    [property: Id(2)] string Model,
    [property: Id(3)] string KeyId,
    [property: Id(4)] string TokenId,
    [property: Id(5)] long Requests,
    [property: Id(6)] long CacheHits,
    [property: Id(7)] long PromptTokens,
    [property: Id(8)] long CompletionTokens,
    [property: Id(9)] long CachedTokens,
    [property: Id(10)] decimal CostUsd,
    [property: Id(11)] decimal SavedUsd,
    [property: Id(12)] DateTimeOffset LastAt);
