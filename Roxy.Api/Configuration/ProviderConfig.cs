namespace Roxy.Api.Configuration;

/// <summary>An upstream endpoint. Timeouts left out fall back to <see cref="ServerConfig"/>.</summary>
public sealed class ProviderConfig
{
    public string BaseUrl { get; set; } = "";

    [OneOf("openai", "anthropic")]
    public string? Kind { get; set; }

    public Dictionary<string, string> Headers { get; set; } = [];

    /// <summary>
    /// Sent as <c>HTTP-Referer</c> on every request to this provider: the site OpenRouter credits the traffic to in
    /// its rankings and in the key owner's activity. An absolute http(s) URL.
    /// </summary>
    public string? HttpReferer { get; set; }

    /// <summary>Sent as <c>X-Title</c>: the app name OpenRouter shows beside <see cref="HttpReferer"/>.</summary>
    public string? XTitle { get; set; }

    /// <summary>
    /// The model a quota-disabled key's background probe asks for (one token). Default: the first chat model the
    /// key's tenant routes to this provider.
    /// </summary>
    public string? ProbeModel { get; set; }

    /// <summary>
    /// Anthropic: the <c>max_tokens</c> sent when a request names none, instead of the model's own maximum (the table
    /// in the README). A smaller one suits keys whose output-token limit is low.
    /// </summary>
    [RangeRule(1, 10_000_000, Expectation = "a whole number of tokens from 1 to 10000000")]
    public int? DefaultMaxTokens { get; set; }

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double? ConnectTimeoutSec { get; set; }

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double? FirstTokenTimeoutSec { get; set; }

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double? IdleTimeoutSec { get; set; }

    [RangeRule(0, double.MaxValue, MinExclusive = true, Expectation = "a number of seconds greater than 0")]
    public double? ResponseTimeoutSec { get; set; }
}
