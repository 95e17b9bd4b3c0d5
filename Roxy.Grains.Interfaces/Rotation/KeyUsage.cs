namespace Roxy.Grains.Rotation;

/// <summary>A key's state and its use in the current 60-second window, for listings and status.</summary>
[GenerateSerializer, Immutable, Alias("roxy.KeyUsage")]
public sealed record KeyUsage(
    [property: Id(0)] string KeyId,
    [property: Id(1)] long RequestsInWindow,
    [property: Id(2)] long TokensInWindow,
    [property: Id(3)] DateTimeOffset? CoolingUntil,
    [property: Id(4)] string? DisabledReason);
