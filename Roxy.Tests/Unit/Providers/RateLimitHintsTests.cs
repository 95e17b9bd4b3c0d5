using System.Net;
using Roxy.Api.Providers;

namespace Roxy.Tests.Unit.Providers;

public class RateLimitHintsTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static RateLimitHints From(params (string Name, string Value)[] headers)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        foreach (var (name, value) in headers)
        {
            Assert.True(response.Headers.TryAddWithoutValidation(name, value), name);
        }

        return RateLimitHints.From(response.Headers, Now);
    }

    [Theory]
    [InlineData("1s", 1_000)]
    [InlineData("6m0s", 360_000)]
    [InlineData("250ms", 250)]
    [InlineData("0h59m3s", 3_543_000)]
    [InlineData("1m30.5s", 90_500)]
    [InlineData("20", 20_000)]
    [InlineData("0.5", 500)]
    [InlineData(" 7s ", 7_000)]
    public void Parse_reset_reads_durations_and_plain_seconds(string value, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RateLimitHints.ParseReset(value, Now));
    }

    [Fact]
    public void Parse_reset_reads_epoch_seconds_relative_to_now()
    {
        var epoch = Now.AddSeconds(45).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromSeconds(45), RateLimitHints.ParseReset(epoch, Now));
    }

    [Theory]
    [InlineData("2026-01-01T12:00:30Z")]
    [InlineData("2026-01-01T13:00:30+01:00")]
    [InlineData("2026-01-01T12:00:30.000Z")]
    public void Parse_reset_reads_rfc3339_instants_relative_to_now(string value)
    {
        Assert.Equal(TimeSpan.FromSeconds(30), RateLimitHints.ParseReset(value, Now));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("soon")]
    [InlineData("s")]
    public void Parse_reset_rejects_garbage(string value)
    {
        Assert.Null(RateLimitHints.ParseReset(value, Now));
    }

    [Fact]
    public void No_headers_means_no_hints()
    {
        Assert.Equal(new RateLimitHints(null, null, null, null), From());
    }

    [Fact]
    public void Retry_after_delta_seconds_is_read()
    {
        Assert.Equal(TimeSpan.FromSeconds(20), From(("Retry-After", "20")).RetryAfter);
    }

    [Fact]
    public void Retry_after_http_date_is_relative_to_now()
    {
        var hints = From(("Retry-After", Now.AddSeconds(90).ToString("r", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(TimeSpan.FromSeconds(90), hints.RetryAfter);
    }

    [Fact]
    public void Retry_after_http_date_in_the_past_is_clamped_to_zero()
    {
        var hints = From(("Retry-After", Now.AddSeconds(-90).ToString("r", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(TimeSpan.Zero, hints.RetryAfter);
    }

    [Fact]
    public void Retry_after_ms_is_read_and_wins_over_retry_after()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(1500), From(("retry-after-ms", "1500")).RetryAfter);
        Assert.Equal(TimeSpan.FromMilliseconds(250.5), From(("Retry-After", "1"), ("retry-after-ms", "250.5")).RetryAfter);
    }

    [Fact]
    public void OpenAI_remaining_and_reset_headers_are_read()
    {
        var hints = From(
            ("x-ratelimit-limit-requests", "500"),
            ("x-ratelimit-remaining-requests", "499"),
            ("x-ratelimit-remaining-tokens", "149984"),
            ("x-ratelimit-reset-requests", "120ms"),
            ("x-ratelimit-reset-tokens", "6m0s"));

        Assert.Equal(499, hints.RemainingRequests);
        Assert.Equal(149984, hints.RemainingTokens);
        Assert.Equal(TimeSpan.FromMinutes(6), hints.ResetAfter);
        Assert.Null(hints.RetryAfter);
    }

    [Fact]
    public void Anthropic_remaining_and_reset_headers_are_read()
    {
        var hints = From(
            ("anthropic-ratelimit-requests-remaining", "49"),
            ("anthropic-ratelimit-tokens-remaining", "39000"),
            ("anthropic-ratelimit-requests-reset", "2026-01-01T12:00:10Z"),
            ("anthropic-ratelimit-tokens-reset", "2026-01-01T12:00:40Z"),
            ("retry-after", "10"));

        Assert.Equal(49, hints.RemainingRequests);
        Assert.Equal(39000, hints.RemainingTokens);
        Assert.Equal(TimeSpan.FromSeconds(40), hints.ResetAfter);
        Assert.Equal(TimeSpan.FromSeconds(10), hints.RetryAfter);
    }

    [Fact]
    public void OpenAI_remaining_headers_win_over_anthropic_ones()
    {
        var hints = From(
            ("x-ratelimit-remaining-requests", "1"),
            ("anthropic-ratelimit-requests-remaining", "2"),
            ("x-ratelimit-remaining-tokens", "3"),
            ("anthropic-ratelimit-tokens-remaining", "4"));

        Assert.Equal(1, hints.RemainingRequests);
        Assert.Equal(3, hints.RemainingTokens);
    }

    [Fact]
    public void Unparsable_values_are_ignored()
    {
        var hints = From(
            ("x-ratelimit-remaining-requests", "lots"),
            ("x-ratelimit-reset-requests", "whenever"),
            ("retry-after-ms", "soon"));

        Assert.Equal(new RateLimitHints(null, null, null, null), hints);
    }

    [Theory]
    [InlineData("300000000h")]
    [InlineData("100000000h")]
    [InlineData("99999999999999999999999999999s")]
    [InlineData("1e308h1e308h")]
    [InlineData("2000000h30m")]
    public void Huge_reset_durations_are_capped_at_an_hour(string value)
    {
        var hints = From(("x-ratelimit-reset-requests", value));

        Assert.Equal(TimeSpan.FromHours(1), hints.ResetAfter);
    }

    [Fact]
    public void Far_future_and_past_instants_are_capped()
    {
        Assert.Equal(TimeSpan.FromHours(1), RateLimitHints.ParseReset("9999-12-31T23:59:59Z", Now));
        Assert.Equal(TimeSpan.Zero, RateLimitHints.ParseReset("0001-01-01T00:00:00Z", Now));
        Assert.Equal(TimeSpan.FromHours(1), RateLimitHints.ParseReset("99999999999", Now));
        Assert.Equal(TimeSpan.Zero, RateLimitHints.ParseReset("1000000001", Now));
    }

    [Theory]
    [InlineData("Retry-After", "1e12")]
    [InlineData("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")]
    [InlineData("retry-after-ms", "1e300")]
    [InlineData("retry-after-ms", "99999999999999")]
    public void Huge_retry_after_is_capped_at_an_hour(string name, string value)
    {
        Assert.Equal(TimeSpan.FromHours(1), From((name, value)).RetryAfter);
    }

    [Theory]
    [InlineData("retry-after-ms", "-500")]
    [InlineData("Retry-After", "-3")]
    public void Negative_retry_after_is_zero(string name, string value)
    {
        Assert.Equal(TimeSpan.Zero, From((name, value)).RetryAfter);
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    public void Non_finite_values_are_ignored(string value)
    {
        var hints = From(("Retry-After", value), ("retry-after-ms", value), ("x-ratelimit-reset-tokens", value));

        Assert.Equal(new RateLimitHints(null, null, null, null), hints);
    }

    [Fact]
    public void Remaining_counts_are_never_negative_and_ignored_when_they_do_not_fit()
    {
        Assert.Equal(0L, From(("x-ratelimit-remaining-requests", "-5")).RemainingRequests);
        Assert.Null(From(("x-ratelimit-remaining-tokens", "99999999999999999999999")).RemainingTokens);
        Assert.Equal(100_000_000_000L, From(("x-ratelimit-remaining-tokens", "100000000000")).RemainingTokens);
    }
}
