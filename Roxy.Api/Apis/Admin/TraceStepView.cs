using Roxy.Api.Tracing;
using Roxy.Grains.Tracing;

namespace Roxy.Api.Apis.Admin;

/// <summary>One step of a request's routing: a target tried with a key, passed over, or a wait.</summary>
/// <param name="Kind"><c>attempt</c>, <c>no_keys</c>, <c>exhausted</c>, <c>too_large</c>, <c>provider_backoff</c>, <c>unsupported</c>, <c>secret_missing</c>, <c>waited</c>, or <c>omitted</c> (stands for steps a long trace left out).</param>
/// <param name="Provider">The target's provider; null for a wait or an <c>omitted</c> marker.</param>
/// <param name="UpstreamStatus">The provider's HTTP status for an attempt; null when it never answered.</param>
/// <param name="Outcome">How an attempt ended: <c>success</c>, <c>rate_limited</c>, <c>auth_failed</c>, <c>quota_exhausted</c>, <c>provider_overloaded</c>, <c>caller_error</c>, <c>cancelled</c>, <c>failed</c>.</param>
/// <param name="RetryAfterSec">A rate-limited key's cooldown, or when a busy or backing-off provider frees up.</param>
/// <param name="Detail">What followed: <c>cooling until 09:30:40 UTC</c>, <c>disabled: 401</c>, an error code, …</param>
/// <param name="Summary">The same words as <c>#roxy why</c>.</param>
/// <param name="Skipped">Keys the rotation passed over before this step.</param>
/// <param name="Repeats">How many more times this refusal or wait happened, folded into this step (waits summed in <c>duration_ms</c>); for <c>omitted</c>, how many steps were left out.</param>
public sealed record TraceStepView(
    string Kind, string? Provider, string? Model, string? KeyId, int? UpstreamStatus, string? Outcome, double DurationMs,
    double? RetryAfterSec, string? Detail, string Summary, IReadOnlyList<KeySkipView> Skipped, int Repeats = 0)
{
    public static TraceStepView RateLimitedExample { get; } = From(new TraceStep(
        "openai", "gpt-4o-mini", TraceStepKind.Attempt, "k-openai-1", 429, "rate_limited", 41.5, null, TimeSpan.FromSeconds(40), "cooling until 09:30:40 UTC"));

    public static TraceStepView AnsweredExample { get; } = From(new TraceStep(
        "openai", "gpt-4o-mini", TraceStepKind.Attempt, "k-openai-2", 200, "success", 380.2, null, null, null));

    public static TraceStepView From(TraceStep step) => new(
        TraceExplainer.Kind(step.Kind),
        TraceExplainer.HasTarget(step) ? step.Provider : null,
        TraceExplainer.HasTarget(step) ? step.Model : null,
        step.KeyId, step.UpstreamStatus, step.Outcome, step.DurationMs, step.RetryAfter?.TotalSeconds, step.Detail,
        TraceExplainer.What(step),
        step.SkippedKeys is { } skipped ? [.. skipped.Select(KeySkipView.From)] : [],
        step.Repeats);
}
