namespace Roxy.Grains.Caching;

/// <summary>What one frontend counted for a tenant since its last report.</summary>
[GenerateSerializer, Immutable, Alias("roxy.CacheStatsDelta")]
public sealed record CacheStatsDelta(
    [property: Id(0)] long Hits,
    [property: Id(1)] long Misses,
    [property: Id(2)] IReadOnlyList<ModelSavings> Savings);
