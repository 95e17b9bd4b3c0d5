using Roxy.Api.Configuration;

namespace Roxy.Api.Pricing;

/// <summary>The price table a frontend uses: the built-in one with config's <c>prices:</c> on top.</summary>
public static class ConfiguredPrices
{
    public static ModelPrices From(RoxyConfig config) => From(ModelPrices.BuiltIn, config.Prices);

    public static ModelPrices From(ModelPrices builtIn, IEnumerable<KeyValuePair<string, PriceConfig>> prices) =>
        builtIn.With(prices
            .Where(p => p.Value.Input is not null && p.Value.Output is not null)
            .Select(p => KeyValuePair.Create(p.Key, new ModelPrices.Price(
                (decimal)p.Value.Input!.Value, (decimal)p.Value.Output!.Value, (decimal)(p.Value.CachedInput ?? p.Value.Input.Value)))));
}
