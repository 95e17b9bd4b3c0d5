using Roxy.Grains.Rotation;

namespace Roxy.Api.Configuration;

/// <summary>One provider key, by reference to the environment variable that holds it.</summary>
public sealed class ApiKeyConfig
{
    [RequiredField("name the environment variable that holds the key, e.g. OPENAI_API_KEY_1")]
    public string? KeyEnvVar { get; set; }

    [RequiredField("name a provider, e.g. openai")]
    public string Provider { get; set; } = "";

    [RangeRule(1, KeyLimits.MaxRpm, Expectation = "a positive integer")]
    public long MaxRpm { get; set; } = 500;

    [RangeRule(1, KeyLimits.MaxTpm, Expectation = "a positive integer")]
    public long MaxTpm { get; set; } = 200000;

    [RangeRule(0, int.MaxValue, Expectation = "a non-negative integer")]
    public int CooldownSec { get; set; } = 60;
}
