namespace Roxy.Grains.Rotation;

/// <summary>
/// Sent by the frontend after an upstream call: the real token usage corrects the reservation,
/// and the outcome plus the provider's rate-limit hints adjust the key.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.UsageReport")]
public sealed record UsageReport(
    [property: Id(0)] string KeyId,
    [property: Id(1)] long LeaseId,
    [property: Id(2)] long ActualTokens,
    [property: Id(3)] UpstreamOutcome Outcome,
    [property: Id(4)] TimeSpan? RetryAfter,
    [property: Id(5)] long? RemainingRequests,
    [property: Id(6)] long? RemainingTokens,
    [property: Id(7)] TimeSpan? ResetAfter,
    [property: Id(8)] bool UsageKnown = true);
