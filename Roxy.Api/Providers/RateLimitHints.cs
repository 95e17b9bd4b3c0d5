using System.Globalization;
using System.Net.Http.Headers;

namespace Roxy.Api.Providers;

/// <summary>
/// What a provider's response headers say about a key's limits, in every form providers use. The headers are
/// untrusted input: every duration lies in [0, <see cref="MaxHint"/>], every count is at least 0, and a value that
/// does not parse (NaN, infinity, too large for its type) is ignored.
/// </summary>
public readonly record struct RateLimitHints(TimeSpan? RetryAfter, TimeSpan? ResetAfter, long? RemainingRequests, long? RemainingTokens)
{
    /// <summary>No provider asks a key to wait longer; a larger value is a bug or hostile, and could overflow (the rotation grain's cap too).</summary>
    public static readonly TimeSpan MaxHint = Roxy.Grains.Rotation.RateLimitCooldown.MaxHint;

    public static RateLimitHints From(HttpResponseHeaders headers, DateTimeOffset now)
    {
        // One pass over the headers as received; nothing is parsed unless its name matches.
        TimeSpan? retryAfter = null, retryAfterMs = null, reset = null;
        long? remainingRequests = null, remainingTokens = null;
        foreach (var header in headers.NonValidated)
        {
            var name = header.Key;
            if (name.Length < 11)
            {
                continue;
            }

            var value = header.Value.ToString();
            if (name.Equals("retry-after", StringComparison.OrdinalIgnoreCase))
            {
                retryAfter = ParseRetryAfter(value, now);
            }
            else if (name.Equals("retry-after-ms", StringComparison.OrdinalIgnoreCase))
            {
                if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && double.IsFinite(ms))
                {
                    retryAfterMs = Seconds(ms / 1000);
                }
            }
            else if (IsResetHeader(name))
            {
                if (ParseReset(value, now) is { } r && (reset is null || r > reset))
                {
                    reset = r;
                }
            }
            else if (name.Equals("x-ratelimit-remaining-requests", StringComparison.OrdinalIgnoreCase)
                || name.Equals("anthropic-ratelimit-requests-remaining", StringComparison.OrdinalIgnoreCase))
            {
                remainingRequests ??= Count(value);
            }
            else if (name.Equals("x-ratelimit-remaining-tokens", StringComparison.OrdinalIgnoreCase)
                || name.Equals("anthropic-ratelimit-tokens-remaining", StringComparison.OrdinalIgnoreCase))
            {
                remainingTokens ??= Count(value);
            }
        }

        return new RateLimitHints(retryAfterMs ?? retryAfter, reset, remainingRequests, remainingTokens);
    }

    private static TimeSpan? ParseRetryAfter(string value, DateTimeOffset now)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return double.IsFinite(seconds) ? Seconds(seconds) : null;
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? Clamp(date - now) : null;
    }

    private static bool IsResetHeader(string name)
    {
        foreach (var reset in ResetHeaders)
        {
            if (name.Equals(reset, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static long? Count(string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? Math.Max(0, n) : null;

    /// <summary>Into [0, <see cref="MaxHint"/>]; the caller has checked the number is finite.</summary>
    private static TimeSpan Seconds(double seconds) =>
        seconds <= 0 ? TimeSpan.Zero : seconds >= MaxHint.TotalSeconds ? MaxHint : TimeSpan.FromSeconds(seconds);

    public static TimeSpan Clamp(TimeSpan value) =>
        value < TimeSpan.Zero ? TimeSpan.Zero : value > MaxHint ? MaxHint : value;

    private static readonly string[] ResetHeaders =
    [
        "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens", "x-ratelimit-reset",
        "anthropic-ratelimit-requests-reset", "anthropic-ratelimit-tokens-reset",
    ];

    /// <summary>
    /// Parses OpenAI's durations (<c>1s</c>, <c>6m0s</c>, <c>250ms</c>), plain seconds, epoch seconds, and
    /// Anthropic's RFC 3339 instants.
    /// </summary>
    public static TimeSpan? ParseReset(string value, DateTimeOffset now)
    {
        value = value.Trim();
        if (value.Length == 0)
        {
            return null;
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            if (!double.IsFinite(number) || number < 0 || number > 1e11)
            {
                return null;
            }

            // Large numbers are epoch seconds (some providers), small ones are seconds from now.
            return number > 1_000_000_000 ? Clamp(DateTimeOffset.FromUnixTimeSeconds((long)number) - now) : Seconds(number);
        }

        if (value.Contains('T', StringComparison.Ordinal) && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return Clamp(instant - now);
        }

        // Summed in seconds as a double: "300000000h" would overflow TimeSpan.FromHours.
        var total = 0.0;
        var i = 0;
        var any = false;
        while (i < value.Length)
        {
            var start = i;
            while (i < value.Length && (char.IsDigit(value[i]) || value[i] == '.'))
            {
                i++;
            }

            if (start == i || !double.TryParse(value.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
            {
                return null;
            }

            var unitStart = i;
            while (i < value.Length && char.IsLetter(value[i]))
            {
                i++;
            }

            total += amount * value.AsSpan(unitStart, i - unitStart) switch
            {
                "h" => 3600,
                "m" => 60,
                "s" or "" => 1,
                "ms" => 0.001,
                _ => 0,
            };
            any = true;
        }

        return any && double.IsFinite(total) ? Seconds(total) : null;
    }
}
