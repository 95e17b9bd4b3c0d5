namespace Roxy.Grains.Tracing;

/// <summary>
/// A key the rotation grain passed over for a request, and why (SPEC §9: "cooling until …, disabled: 401"). A healthy
/// key that merely was not its turn is not one. <see cref="Until"/> is UTC: when a cooldown ends (Cooling, and Excluded
/// while the tried key cools) or when the window frees (NoHeadroom). <see cref="Detail"/>: for Disabled "admin", "auth"
/// (the provider answered 401/403) or "quota"; for NoHeadroom what is full ("max_rpm", "max_tpm", "provider remaining",
/// "unsaved share": a moment's wait for the rotation grain's snapshot). <see cref="MaxTpm"/>: for TooSmall, the key's
/// max_tpm (a raw number: the rotation grain formats nothing, the reader renders it).
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.KeySkip")]
public sealed record KeySkip(
    [property: Id(0)] string KeyId,
    [property: Id(1)] KeySkipReason Reason,
    [property: Id(2)] DateTimeOffset? Until,
    [property: Id(3)] string? Detail,
    [property: Id(4)] long? MaxTpm = null);
