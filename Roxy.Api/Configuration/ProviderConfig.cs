namespace Roxy.Api.Configuration;

/// <summary>An upstream endpoint. Timeouts left out fall back to <see cref="ServerConfig"/>.</summary>
public sealed class ProviderConfig
{
    public string BaseUrl { get; set; } = "";

    [OneOf("openai", "anthropic")]
    public string? Kind { get; set; }

    public Dictionary<string, string> Headers { get; set; } = [];

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double? ConnectTimeoutSec { get; set; }

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double? FirstTokenTimeoutSec { get; set; }

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double? IdleTimeoutSec { get; set; }

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double? ResponseTimeoutSec { get; set; }
}
