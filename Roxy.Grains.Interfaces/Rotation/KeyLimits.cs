namespace Roxy.Grains.Rotation;

/// <summary>
/// The bounds every token and request amount of the rotation chain stays within, so sums over a window can never
/// overflow a <see cref="long"/> (at most <see cref="MaxRpm"/> entries of at most <see cref="MaxTpm"/> tokens).
/// </summary>
public static class KeyLimits
{
    /// <summary>The largest <c>max_rpm</c> a key may have.</summary>
    public const long MaxRpm = 1_000_000_000;

    /// <summary>The largest <c>max_tpm</c> a key may have: 10,000 times the 100B TPM of big enterprise contracts.</summary>
    public const long MaxTpm = 1_000_000_000_000_000;

    /// <summary>
    /// No single request really uses more than this; an upstream that reports more (a bug, or
    /// <c>prompt_tokens: 2147483647</c>) is not believed beyond it.
    /// </summary>
    public const long MaxReportedTokens = 100_000_000;
}
