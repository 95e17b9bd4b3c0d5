namespace Roxy.Grains.Tracing;

/// <summary>A key the rotation grain passed over for a request, and why (SPEC §9: "cooling until …, disabled: 401").</summary>
[GenerateSerializer, Immutable, Alias("roxy.KeySkip")]
public sealed record KeySkip(
    [property: Id(0)] string KeyId,
    [property: Id(1)] KeySkipReason Reason,
    [property: Id(2)] DateTimeOffset? Until,
    [property: Id(3)] string? Detail);
