namespace Roxy.Grains.Rotation;

/// <summary>
/// Ask for a key with room for one request and <see cref="EstimatedTokens"/> tokens. <see cref="Reports"/> carries
/// the frontend's deferred usage corrections for earlier successful requests, so they cost no call of their own.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.AcquireRequest")]
public sealed record AcquireRequest(
    [property: Id(0)] long EstimatedTokens,
    [property: Id(1)] IReadOnlyList<string>? ExcludeKeyIds,
    [property: Id(2)] IReadOnlyList<UsageReport>? Reports = null);
