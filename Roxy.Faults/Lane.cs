namespace Roxy.Faults;

/// <summary>What answers a lane expects besides a complete 200: anything else is a failure.</summary>
public enum LaneKind
{
    /// <summary>Only a complete 200 succeeds.</summary>
    Regular,

    /// <summary>Offered more than its key allows: Roxy's own 429 <c>rate_limit_exceeded</c> is the limiter working.</summary>
    Tight,

    /// <summary>Spends a small budget: once it is spent, 429 <c>budget_exceeded</c> is the budget working.</summary>
    Budget,
}

/// <summary>
/// One stream of steady traffic: a tenant's token, a frontend (0 alternates between both), a model, streaming or not,
/// requests per second. Open loop: requests leave on schedule whether or not earlier ones have answered, up to
/// <paramref name="MaxInFlight"/>, so an outage shows as failures over time, not as a lane that stops asking.
/// </summary>
public sealed record Lane(string Name, string Tenant, string Token, int Frontend, string Model, bool Stream, double PerSecond, LaneKind Kind, int MaxInFlight = 16);
