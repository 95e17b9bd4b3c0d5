namespace Roxy.Api.Configuration;

/// <summary>HTTP frontend limits and the default upstream timeouts.</summary>
public sealed class ServerConfig
{
    /// <summary>How long start-up waits for PostgreSQL to accept connections (compose and Kubernetes start everything at once).</summary>
    [RangeRule(0, 3600, Expectation = "a number of seconds, 0 or more")]
    public int StartupWaitSec { get; set; } = 30;

    [RangeRule(1024, long.MaxValue, Expectation = "an integer of at least 1024")]
    public long MaxBodyBytes { get; set; } = 10485760;

    [RangeRule(0, int.MaxValue, Expectation = "a non-negative integer")]
    public int DrainTimeoutSec { get; set; } = 30;

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double ConnectTimeoutSec { get; set; } = 10;

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double FirstTokenTimeoutSec { get; set; } = 60;

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double IdleTimeoutSec { get; set; } = 60;
}
