namespace Roxy.Grains.Tracing;

/// <summary>
/// One step of a request's routing: a target tried with a key, or a target passed over and why. <see cref="Repeats"/>:
/// how many more times the same step happened since the last attempt and was folded into this one (a refusal met again
/// on each pass of the wait loop, whose latest skips and retry time it shows; waits, whose durations it sums); for an
/// <see cref="TraceStepKind.Omitted"/> step, how many steps the trace left out.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.TraceStep")]
public sealed record TraceStep(
    [property: Id(0)] string Provider,
    [property: Id(1)] string Model,
    [property: Id(2)] TraceStepKind Kind,
    [property: Id(3)] string? KeyId,
    [property: Id(4)] int? UpstreamStatus,
    [property: Id(5)] string? Outcome,
    [property: Id(6)] double DurationMs,
    [property: Id(7)] IReadOnlyList<KeySkip>? SkippedKeys,
    [property: Id(8)] TimeSpan? RetryAfter,
    [property: Id(9)] string? Detail,
    [property: Id(10)] int Repeats = 0);
