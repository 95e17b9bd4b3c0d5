namespace Roxy.Api.Configuration;

/// <summary>Key rotation tuning.</summary>
public sealed class RotationConfig
{
    [RangeRule(0, int.MaxValue, Expectation = "a non-negative integer")]
    public int MaxWaitMs { get; set; } = 2000;

    [RangeRule(1, int.MaxValue, Expectation = "a positive integer")]
    public int DefaultMaxTokens { get; set; } = 1024;

    [RangeRule(1, int.MaxValue, Expectation = "a positive integer")]
    public int ProbeIntervalSec { get; set; } = 180;
}
