using Roxy.Api.Commands;
using Roxy.Api.Tracing;
using Roxy.Grains.Tracing;

namespace Roxy.Tests.Unit.Tracing;

/// <summary>The words of SPEC §9 for each key skipped and each step, as <c>#roxy why</c> and the admin route show them.</summary>
public class WhyRenderingTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 15, 12, 3, 4, TimeSpan.Zero);

    [Theory]
    [InlineData(KeySkipReason.Cooling, "cooling until 12:03:04 UTC")]
    [InlineData(KeySkipReason.NoHeadroom, "no headroom (a slot frees at 12:03:04 UTC)")]
    [InlineData(KeySkipReason.Excluded, "already tried by this request")]
    [InlineData(KeySkipReason.TooSmall, "max_tpm too small for this request")]
    public void Skipped_keys_say_why(KeySkipReason reason, string expected) =>
        Assert.Equal(expected, TraceExplainer.Why(new KeySkip("k-1", reason, At, null)));

    [Fact]
    public void A_key_too_small_names_its_max_tpm() =>
        Assert.Equal("max_tpm 50000 too small for this request", TraceExplainer.Why(new KeySkip("k-1", KeySkipReason.TooSmall, null, null, 50_000)));

    [Fact]
    public void A_disabled_key_says_what_disabled_it()
    {
        Assert.Equal("disabled: 401", TraceExplainer.Why(new KeySkip("k-1", KeySkipReason.Disabled, null, "401")));
        Assert.Equal("disabled: by an admin", TraceExplainer.Why(new KeySkip("k-1", KeySkipReason.Disabled, null, null)));
        Assert.Equal("no headroom", TraceExplainer.Why(new KeySkip("k-1", KeySkipReason.NoHeadroom, null, null)));
    }

    [Fact]
    public void Refused_leases_and_waits_are_explained()
    {
        Assert.Equal("provider backoff (for 2.5 s)", TraceExplainer.What(Step(TraceStepKind.ProviderBackoff, retryAfter: TimeSpan.FromSeconds(2.5))));
        Assert.Equal("every key busy: no headroom (a slot frees in 1 s)", TraceExplainer.What(Step(TraceStepKind.Exhausted, retryAfter: TimeSpan.FromSeconds(1))));
        Assert.Equal("no usable key for this provider", TraceExplainer.What(Step(TraceStepKind.NoKeys)));
        Assert.Equal("skipped: embeddings_not_supported", TraceExplainer.What(Step(TraceStepKind.Unsupported, detail: "embeddings_not_supported")));
        Assert.Equal("waited 750 ms for a key to free up", TraceExplainer.What(Step(TraceStepKind.Waited, durationMs: 750)));
    }

    [Fact]
    public void The_reply_shows_the_rule_each_step_with_its_skipped_keys_and_the_totals()
    {
        var trace = UnsentTracesTests.Trace("acme", "req_abc",
        [
            new TraceStep("openai", "gpt-4o-mini", TraceStepKind.Attempt, "k-1", 429, "rate_limited", 12, null, TimeSpan.FromSeconds(40), "cooling until 12:03:44 UTC"),
            new TraceStep("openai", "gpt-4o-mini", TraceStepKind.Attempt, "k-2", 401, "auth_failed", 8, [new KeySkip("k-1", KeySkipReason.Cooling, At, null)], null, "disabled: 401"),
            new TraceStep("", "", TraceStepKind.Waited, null, null, null, 500, null, null, null),
            new TraceStep("anthropic", "claude-3-5-haiku", TraceStepKind.Attempt, "k-3", 200, "success", 300, [new KeySkip("k-4", KeySkipReason.Disabled, null, "quota")], null, null),
        ]);

        var text = WhyCommand.Render(trace);

        Assert.Contains("**Request `req_abc`** at 2026-01-15 09:30:00 UTC, openai-chat, token `t-1`", text, StringComparison.Ordinal);
        Assert.Contains("- rule: `smart`", text, StringComparison.Ordinal);
        Assert.Contains("- answer: **200** from `openai:gpt-4o-mini` with key `k-2`", text, StringComparison.Ordinal);
        Assert.Contains("1. `openai:gpt-4o-mini` key `k-1`: 429 rate limited in 12 ms; cooling until 12:03:44 UTC (cooldown 40 s)", text, StringComparison.Ordinal);
        Assert.Contains("2. `openai:gpt-4o-mini` key `k-2`: 401 auth failed in 8 ms; disabled: 401\n   - skipped key `k-1`: cooling until 12:03:04 UTC", text, StringComparison.Ordinal);
        Assert.Contains("3. waited 500 ms for a key to free up", text, StringComparison.Ordinal);
        Assert.Contains("   - skipped key `k-4`: disabled: quota", text, StringComparison.Ordinal);
        Assert.Contains("**Tokens** 12 in (0 cached), 40 out · **cost** $0.0001", text, StringComparison.Ordinal);
        Assert.Contains("**Timings** total 430.0 ms, first byte 425.0 ms, waited 0 ms · served by `host/abcd`", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_request_without_a_rule_or_a_provider_call_says_so()
    {
        var text = WhyCommand.Render(UnsentTracesTests.Trace("acme", "req_abc") with { Rule = null, CacheResult = "hit", Provider = null, KeyId = null });

        Assert.Contains("- rule: none (sent to the model's provider as named)", text, StringComparison.Ordinal);
        Assert.Contains("Served from the prompt cache: no provider was called.", text, StringComparison.Ordinal);
    }

    private static TraceStep Step(TraceStepKind kind, TimeSpan? retryAfter = null, string? detail = null, double durationMs = 0) =>
        new("openai", "gpt-4o-mini", kind, null, null, null, durationMs, null, retryAfter, detail);
}
