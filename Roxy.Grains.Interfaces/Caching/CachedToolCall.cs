namespace Roxy.Grains.Caching;

/// <summary>A tool call of a cached answer, its arguments as one JSON text.</summary>
[GenerateSerializer, Immutable, Alias("roxy.CachedToolCall")]
public sealed record CachedToolCall(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Arguments);
