using Roxy.Grains.Tracing;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// The routing decision of one recent request (SPEC §9), as <c>#roxy why</c> shows it: what was asked, the rule, each
/// step, the cache result, tokens, cost and timings. No prompt text, no secret.
/// </summary>
/// <param name="Protocol"><c>openai-chat</c>, <c>openai-embeddings</c> or <c>anthropic-messages</c>: the route the client called.</param>
/// <param name="Rule">The source model of the rule that routed it; null when no rule named the model.</param>
/// <param name="Status">The HTTP status the client got.</param>
/// <param name="ErrorCode">The error Roxy answered with, if it did.</param>
/// <param name="Cache"><c>hit</c>, <c>miss</c> or <c>bypass</c>.</param>
/// <param name="FirstByteMs">Null when nothing was streamed or written from a provider.</param>
/// <param name="Frontend">The Roxy frontend that served it: an opaque id per process (<c>fe-…</c>), which the frontend logs with its machine name at start.</param>
public sealed record RequestTraceView(
    string RequestId, string Tenant, string? TokenId, DateTimeOffset StartedAt, string Protocol, string RequestedModel, string? Rule,
    bool Stream, int Status, string? ErrorCode, string Cache, string? Provider, string? AnswerModel, string? KeyId,
    long PromptTokens, long CompletionTokens, long CachedTokens, decimal CostUsd, decimal SavedUsd,
    double LatencyMs, double? FirstByteMs, double WaitedMs, string Frontend, IReadOnlyList<TraceStepView> Steps)
{
    public static RequestTraceView Example { get; } = new(
        "req_3f9a1c2b4d5e000000000042", "acme", "t-1a2b3c4d5e", new DateTimeOffset(2026, 1, 15, 9, 30, 0, TimeSpan.Zero), "openai-chat",
        "gpt-4o-mini", "gpt-4o-mini", false, 200, null, "miss", "openai", "gpt-4o-mini", "k-openai-2",
        12, 40, 0, 0.000026m, 0m, 430.1, 425.7, 0, "fe-5e2c9a1f",
        [TraceStepView.RateLimitedExample with { Skipped = [] }, TraceStepView.AnsweredExample with { Skipped = [KeySkipView.Example with { KeyId = "k-openai-1", Until = new DateTimeOffset(2026, 1, 15, 9, 30, 40, TimeSpan.Zero), Summary = "cooling until 09:30:40 UTC" }] }]);

    public static RequestTraceView From(RequestTrace trace) => new(
        trace.RequestId, trace.TenantId, trace.TokenId, trace.StartedAt, trace.Protocol, trace.RequestedModel, trace.Rule,
        trace.Stream, trace.Status, trace.ErrorType, trace.CacheResult, trace.Provider, trace.AnswerModel, trace.KeyId,
        trace.PromptTokens, trace.CompletionTokens, trace.CachedTokens, trace.CostUsd, trace.SavedUsd,
        trace.LatencyMs, trace.FirstByteMs < 0 ? null : trace.FirstByteMs, trace.WaitedMs, trace.Frontend,
        [.. trace.Steps.Select(TraceStepView.From)]);
}
