namespace Roxy.Grains.Caching;

/// <summary>
/// What the cache saved for one answering model: hits and the tokens they would have cost. <see cref="CachedTokens"/>
/// is the part of <see cref="PromptTokens"/> the provider's own cache would have served (billed at its lower price).
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.ModelSavings")]
public sealed record ModelSavings(
    [property: Id(0)] string Provider,
    [property: Id(1)] string Model,
    [property: Id(2)] long Hits,
    [property: Id(3)] long PromptTokens,
    [property: Id(4)] long CompletionTokens,
    [property: Id(5)] long CachedTokens = 0);
