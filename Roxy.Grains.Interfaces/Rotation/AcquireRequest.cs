namespace Roxy.Grains.Rotation;

/// <summary>Ask for a key with room for one request and <see cref="EstimatedTokens"/> tokens.</summary>
[GenerateSerializer, Immutable, Alias("roxy.AcquireRequest")]
public sealed record AcquireRequest(
    [property: Id(0)] int EstimatedTokens,
    [property: Id(1)] IReadOnlyList<string>? ExcludeKeyIds);
