namespace Roxy.Grains.Tracing;

/// <summary>
/// The routing decision of one proxied request, as <c>#roxy why</c> and <c>GET /admin/requests/{id}</c> show it:
/// what was asked, which rule and targets were tried with which keys (and why others were skipped), the wait, the
/// cache result, tokens, cost and timings. Never any prompt text or secret.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.RequestTrace")]
public sealed record RequestTrace(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string TenantId,
    [property: Id(2)] string? TokenId,
    [property: Id(3)] DateTimeOffset StartedAt,
    [property: Id(4)] string Protocol,
    [property: Id(5)] string RequestedModel,
    [property: Id(6)] string? Rule,
    [property: Id(7)] bool Stream,
    [property: Id(8)] int Status,
    [property: Id(9)] string? ErrorType,
    [property: Id(10)] string CacheResult,
    [property: Id(11)] string? Provider,
    [property: Id(12)] string? AnswerModel,
    [property: Id(13)] string? KeyId,
    [property: Id(14)] long PromptTokens,
    [property: Id(15)] long CompletionTokens,
    [property: Id(16)] long CachedTokens,
    [property: Id(17)] decimal CostUsd,
    [property: Id(18)] decimal SavedUsd,
    [property: Id(19)] double LatencyMs,
    [property: Id(20)] double FirstByteMs,
    [property: Id(21)] double WaitedMs,
    [property: Id(22)] IReadOnlyList<TraceStep> Steps,
    [property: Id(23)] string Frontend);
