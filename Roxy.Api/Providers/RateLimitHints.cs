using System.Globalization;
using System.Net.Http.Headers;

namespace Roxy.Api.Providers;

/// <summary>What a provider's response headers say about a key's limits, in every form providers use.</summary>
public readonly record struct RateLimitHints(TimeSpan? RetryAfter, TimeSpan? ResetAfter, int? RemainingRequests, int? RemainingTokens)
{
    public static RateLimitHints From(HttpResponseHeaders headers, DateTimeOffset now)
    {
        // One pass over the headers as received; nothing is parsed unless its name matches.
        TimeSpan? retryAfter = null, retryAfterMs = null, reset = null;
        int? remainingRequests = null, remainingTokens = null;
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
                if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && double.IsFinite(ms) && ms >= 0)
                {
                    retryAfterMs = TimeSpan.FromMilliseconds(ms);
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
                remainingRequests ??= Int(value);
            }
            else if (name.Equals("x-ratelimit-remaining-tokens", StringComparison.OrdinalIgnoreCase)
                || name.Equals("anthropic-ratelimit-tokens-remaining", StringComparison.OrdinalIgnoreCase))
            {
                remainingTokens ??= Int(value);
            }
        }

        retryAfter = retryAfterMs ?? retryAfter;
        if (retryAfter < TimeSpan.Zero)
        {
            retryAfter = TimeSpan.Zero;
        }

        return new RateLimitHints(retryAfter, reset, remainingRequests, remainingTokens);
    }

    private static TimeSpan? ParseRetryAfter(string value, DateTimeOffset now)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return double.IsFinite(seconds) && seconds >= 0 && seconds < 1e9 ? TimeSpan.FromSeconds(seconds) : null;
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date - now : null;
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

    private static int? Int(string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

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
            return number > 1_000_000_000 ? DateTimeOffset.FromUnixTimeSeconds((long)number) - now : TimeSpan.FromSeconds(number);
        }

        if (value.Contains('T', StringComparison.Ordinal) && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return instant - now;
        }

        var total = TimeSpan.Zero;
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

            total += value.AsSpan(unitStart, i - unitStart) switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "s" or "" => TimeSpan.FromSeconds(amount),
                "ms" => TimeSpan.FromMilliseconds(amount),
                _ => TimeSpan.Zero,
            };
            any = true;
        }

        return any ? total : null;
    }
}
