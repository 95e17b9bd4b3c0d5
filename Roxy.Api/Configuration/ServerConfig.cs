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

    /// <summary>Headers and body of a non-streamed answer, which arrive only once the whole completion is generated.</summary>
    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double ResponseTimeoutSec { get; set; } = 600;

    /// <summary>The largest single SSE event Roxy buffers from an upstream before it ends the stream.</summary>
    [RangeRule(1024, 64 * 1024 * 1024, Expectation = "a number of bytes")]
    public int MaxSseEventBytes { get; set; } = 1024 * 1024;

    /// <summary>The co-hosted silo's in-memory prompt cache tier, in bytes (Roxy.Silo reads ROXY_CACHE_MEMORY_BYTES); 0 keeps none.</summary>
    [RangeRule(0, long.MaxValue, Expectation = "a number of bytes, 0 or more")]
    public long CacheMemoryBytes { get; set; } = 268435456;
}
