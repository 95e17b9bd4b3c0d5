namespace Roxy.Grains.Rotation;

/// <summary>
/// How long a key cools after a 429: the longest of its <c>cooldown_sec</c> and the provider's hints, each hint
/// believed up to <see cref="MaxHint"/>. Shared so that the rotation grain, which applies it, and the frontend's trace,
/// which says "cooling until …" before the grain has heard of the 429, name the same instant.
/// </summary>
public static class RateLimitCooldown
{
    /// <summary>No provider asks a key to wait longer; a larger hint is a bug or hostile, and now + hint could overflow.</summary>
    public static readonly TimeSpan MaxHint = TimeSpan.FromHours(1);

    /// <summary>A provider's hint into [0, <see cref="MaxHint"/>]; none is zero.</summary>
    public static TimeSpan Hint(TimeSpan? value) =>
        value is not { } v || v <= TimeSpan.Zero ? TimeSpan.Zero : v > MaxHint ? MaxHint : v;

    /// <summary>The cooldown a 429 starts: <paramref name="cooldownSec"/>, or longer when a (capped) hint says so.</summary>
    public static TimeSpan After(int cooldownSec, TimeSpan? retryAfter, TimeSpan? resetAfter)
    {
        var cooldown = TimeSpan.FromSeconds(Math.Max(0, cooldownSec));
        var retry = Hint(retryAfter);
        var reset = Hint(resetAfter);
        var hint = retry > reset ? retry : reset;
        return hint > cooldown ? hint : cooldown;
    }
}
