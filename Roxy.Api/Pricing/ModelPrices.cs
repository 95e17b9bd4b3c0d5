using System.Collections.Frozen;

namespace Roxy.Api.Pricing;

/// <summary>
/// What a model's tokens cost, in USD per million, for the cache's estimate of what it saved. A small built-in table
/// of common OpenAI and Anthropic models (list prices, late 2025); a dated or <c>-latest</c> id is priced as its base
/// model (<c>gpt-4o-2024-08-06</c> as <c>gpt-4o</c>), and a provider prefix (<c>openai/gpt-4o</c>, as OpenRouter names
/// models) is ignored. Any other model has no price: it is reported as unpriced, never guessed.
/// </summary>
public sealed class ModelPrices(IDictionary<string, ModelPrices.Price> prices)
{
    public static readonly ModelPrices BuiltIn = new(new Dictionary<string, Price>(StringComparer.OrdinalIgnoreCase)
    {
        ["gpt-4o"] = new(2.50m, 10.00m, 1.25m),
        ["gpt-4o-mini"] = new(0.15m, 0.60m, 0.075m),
        ["gpt-4.1"] = new(2.00m, 8.00m, 0.50m),
        ["gpt-4.1-mini"] = new(0.40m, 1.60m, 0.10m),
        ["gpt-4.1-nano"] = new(0.10m, 0.40m, 0.025m),
        ["o3"] = new(2.00m, 8.00m, 0.50m),
        ["o3-mini"] = new(1.10m, 4.40m, 0.55m),
        ["o4-mini"] = new(1.10m, 4.40m, 0.275m),
        ["claude-3-5-sonnet"] = new(3.00m, 15.00m, 0.30m),
        ["claude-3-5-haiku"] = new(0.80m, 4.00m, 0.08m),
        ["claude-3-7-sonnet"] = new(3.00m, 15.00m, 0.30m),
        ["claude-sonnet-4"] = new(3.00m, 15.00m, 0.30m),
        ["claude-sonnet-4-5"] = new(3.00m, 15.00m, 0.30m),
        ["claude-opus-4"] = new(15.00m, 75.00m, 1.50m),
        ["claude-opus-4-1"] = new(15.00m, 75.00m, 1.50m),
        ["claude-opus-4-5"] = new(5.00m, 25.00m, 0.50m),
        ["claude-haiku-4-5"] = new(1.00m, 5.00m, 0.10m),
    });

    private readonly FrozenDictionary<string, Price> _prices = prices.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>USD per million tokens: fresh input, output, and input read from the provider's own prompt cache.</summary>
    public readonly record struct Price(decimal InputPerMillion, decimal OutputPerMillion, decimal CachedInputPerMillion)
    {
        public decimal Cost(long promptTokens, long completionTokens, long cachedTokens = 0) =>
            ((promptTokens - cachedTokens) * InputPerMillion + cachedTokens * CachedInputPerMillion + completionTokens * OutputPerMillion) / 1_000_000m;
    }

    /// <summary>The price of <paramref name="model"/> as <paramref name="provider"/> named it; null when it has none.</summary>
    public Price? Find(string provider, string model) => provider is null ? null : Find(model); // seam: helper B

    /// <summary>The price of <paramref name="model"/> as the provider named it; null when it has none.</summary>
    public Price? Find(string model)
    {
        var slash = model.LastIndexOf('/');
        var id = slash >= 0 ? model[(slash + 1)..] : model;
        if (_prices.TryGetValue(id, out var price))
        {
            return price;
        }

        var baseId = WithoutVersionSuffix(id);
        return baseId.Length < id.Length && _prices.TryGetValue(baseId, out price) ? price : null;
    }

    /// <summary>
    /// The id without a trailing <c>-YYYY-MM-DD</c> (OpenAI), <c>-YYYYMMDD</c> (Anthropic) or <c>-latest</c>. Only these:
    /// <c>o3-pro</c> is not <c>o3</c>, and <c>claude-sonnet-4-7</c> is not <c>claude-sonnet-4</c>.
    /// </summary>
    private static string WithoutVersionSuffix(string id)
    {
        if (id.EndsWith("-latest", StringComparison.OrdinalIgnoreCase))
        {
            return id[..^"-latest".Length];
        }

        if (id.Length > 11 && id[^11] == '-' && id[^6] == '-' && id[^3] == '-'
            && AllDigits(id.AsSpan(id.Length - 10, 4)) && AllDigits(id.AsSpan(id.Length - 5, 2)) && AllDigits(id.AsSpan(id.Length - 2, 2)))
        {
            return id[..^11];
        }

        if (id.Length > 9 && id[^9] == '-' && AllDigits(id.AsSpan(id.Length - 8)))
        {
            return id[..^9];
        }

        return id;
    }

    private static bool AllDigits(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
