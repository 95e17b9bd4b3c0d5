namespace Roxy.Grains.Rotation;

/// <summary>
/// The rotation grain's answer: a key and the reservation made on it, or why there is none. <see cref="Skipped"/> lists
/// the keys passed over and why, for the request's trace; null on the common path, where no key was passed over. On a
/// grant it lists only disabled and cooling keys (one list shared by every lease, never to be modified), keys already
/// tried by this request and keys too small for it; a key merely full is listed only when no key could serve.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.KeyLease")]
public sealed record KeyLease(
    [property: Id(0)] LeaseStatus Status,
    [property: Id(1)] ProviderKey? Key,
    [property: Id(2)] long LeaseId,
    [property: Id(3)] long ReservedTokens,
    [property: Id(4)] TimeSpan RetryAfter,
    [property: Id(5)] IReadOnlyList<Tracing.KeySkip>? Skipped = null)
{
    public static KeyLease NoKeys { get; } = new(LeaseStatus.NoKeys, null, 0, 0, TimeSpan.Zero);
}
