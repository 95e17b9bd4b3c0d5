namespace Roxy.Api.Configuration;

/// <summary>
/// One entry of <c>prices:</c> (key <c>provider:model</c> or a bare model): USD per 1M tokens, replacing or adding to
/// the built-in table. Without <c>cached_input</c>, input read from the provider's cache is priced as fresh input.
/// </summary>
public sealed class PriceConfig
{
    [RequiredField("the USD price per 1M input tokens, e.g. `input: 0.15`")]
    public double? Input { get; set; }

    [RequiredField("the USD price per 1M output tokens, e.g. `output: 0.60`")]
    public double? Output { get; set; }

    public double? CachedInput { get; set; }
}
