using System.Globalization;
using System.Net.Http.Headers;

namespace Roxy.Api.Providers;

/// <summary>What a provider's response headers say about a key's limits, in every form providers use.</summary>
public readonly record struct RateLimitHints(TimeSpan? RetryAfter, TimeSpan? ResetAfter, int? RemainingRequests, int? RemainingTokens)
{
    public static RateLimitHints From(HttpResponseHeaders headers, DateTimeOffset now)
    {
        TimeSpan? retryAfter = null;
        if (headers.RetryAfter is { } ra)
        {
            retryAfter = ra.Delta ?? (ra.Date is { } date ? date - now : null);
        }

        if (TryGet(headers, "retry-after-ms", out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var msValue))
        {
            retryAfter = TimeSpan.FromMilliseconds(msValue);
        }

        TimeSpan? reset = null;
        foreach (var name in ResetHeaders)
        {
            if (TryGet(headers, name, out var value) && ParseReset(value, now) is { } r && (reset is null || r > reset))
            {
                reset = r;
            }
        }

        int? remainingRequests = Int(headers, "x-ratelimit-remaining-requests") ?? Int(headers, "anthropic-ratelimit-requests-remaining");
        int? remainingTokens = Int(headers, "x-ratelimit-remaining-tokens") ?? Int(headers, "anthropic-ratelimit-tokens-remaining");
        if (retryAfter < TimeSpan.Zero)
        {
            retryAfter = TimeSpan.Zero;
        }

        return new RateLimitHints(retryAfter, reset, remainingRequests, remainingTokens);
    }

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

    private static int? Int(HttpResponseHeaders headers, string name) =>
        TryGet(headers, name, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static bool TryGet(HttpResponseHeaders headers, string name, out string value)
    {
        if (headers.NonValidated.TryGetValues(name, out var values))
        {
            foreach (var v in values)
            {
                value = v;
                return true;
            }
        }

        value = "";
        return false;
    }
}
