namespace Roxy.Grains.Rotation;

/// <summary>
/// A slot on a key reserved ahead of use, handed to a busy frontend along with a lease so its next requests need
/// no grain call. The rotation grain counts a credit in the key's windows at the end of its
/// <see cref="Lifetime"/>, the latest moment it may be used, so a credit spent earlier can never let a key exceed
/// its limits; one left unspent is handed back with an <see cref="UpstreamOutcome.Unused"/> report.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.KeyCredit")]
public sealed record KeyCredit(
    [property: Id(0)] ProviderKey Key,
    [property: Id(1)] long LeaseId,
    [property: Id(2)] long ReservedTokens)
{
    /// <summary>How long after asking a frontend may spend a credit; also how late a disabled key may still serve.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMilliseconds(100);

    /// <summary>The most credits one top-up hands out.</summary>
    public const int MaxPerTopUp = 64;
}
