using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;

namespace Roxy.Api.Pricing;

/// <summary>
/// What a model's tokens cost, in USD per million: the built-in table (<c>prices.json</c>, embedded, with its date and
/// sources) extended or overridden by <c>prices:</c> in config. Keys are <c>provider:model</c> or a bare model. A dated
/// or <c>-latest</c> id is priced as its base model (<c>gpt-4o-2024-08-06</c> as <c>gpt-4o</c>), and a vendor prefix
/// (<c>openai/gpt-4o</c>, as OpenRouter names models) falls back to the model after it; last, dots are read as dashes
/// (OpenRouter's <c>anthropic/claude-3.5-sonnet</c> is Anthropic's <c>claude-3-5-sonnet</c>). Any other model has no price:
/// it costs 0 and is reported as unpriced, never guessed.
/// </summary>
public sealed class ModelPrices
{
    // Longer provider:model keys are looked up without the provider part only; no real id comes near this.
    private const int MaxKeyChars = 256;

    public static readonly ModelPrices BuiltIn = new(LoadBuiltIn());

    private readonly FrozenDictionary<string, Price> _prices;
    private readonly FrozenDictionary<string, Price>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public ModelPrices(IEnumerable<KeyValuePair<string, Price>> prices)
    {
        _prices = prices.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _lookup = _prices.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>USD per million tokens: fresh input, output, and input read from the provider's own prompt cache.</summary>
    public readonly record struct Price(decimal InputPerMillion, decimal OutputPerMillion, decimal CachedInputPerMillion)
    {
        /// <param name="promptTokens">Every input token, the cached ones included (as OpenAI reports them).</param>
        /// <param name="cachedTokens">The part of <paramref name="promptTokens"/> read from the provider's cache.</param>
        public decimal Cost(long promptTokens, long completionTokens, long cachedTokens = 0)
        {
            var cached = Math.Clamp(cachedTokens, 0, Math.Max(promptTokens, 0));
            return ((promptTokens - cached) * InputPerMillion + cached * CachedInputPerMillion + completionTokens * OutputPerMillion) / 1_000_000m;
        }
    }

    /// <summary>Every entry of the table, for listings and tests.</summary>
    public IReadOnlyDictionary<string, Price> Entries => _prices;

    /// <summary>This table with <paramref name="overrides"/> (keys <c>provider:model</c> or bare) added or replacing entries.</summary>
    public ModelPrices With(IEnumerable<KeyValuePair<string, Price>> overrides)
    {
        var merged = new Dictionary<string, Price>(_prices, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, price) in overrides)
        {
            merged[key] = price;
        }

        return new ModelPrices(merged);
    }

    /// <summary>
    /// The price of <paramref name="model"/> as <paramref name="provider"/> named it; null when it has none. Tried in
    /// order: <c>provider:model</c>, the bare model, both without a date or <c>-latest</c> suffix, then the same for the
    /// model after a vendor prefix; only when all of that finds nothing, the same again with every '.' read as '-'
    /// (so <c>gpt-4.1</c> stays <c>gpt-4.1</c>). Runs per request: span lookups, no allocation.
    /// </summary>
    public Price? Find(string? provider, string? model)
    {
        if (string.IsNullOrEmpty(model))
        {
            return null;
        }

        var id = model.AsSpan();
        if (FindModel(provider, id) is { } price)
        {
            return price;
        }

        if (!id.Contains('.') || id.Length > MaxKeyChars)
        {
            return null;
        }

        Span<char> dashed = stackalloc char[id.Length];
        id.CopyTo(dashed);
        dashed.Replace('.', '-');
        return FindModel(provider, dashed);
    }

    /// <summary>The price of <paramref name="model"/> whichever provider serves it; null when it has none.</summary>
    public Price? Find(string model) => Find(null, model);

    private Price? FindModel(string? provider, ReadOnlySpan<char> id)
    {
        if (FindId(provider, id) is { } price)
        {
            return price;
        }

        var slash = id.LastIndexOf('/');
        return slash >= 0 && slash < id.Length - 1 ? FindId(provider, id[(slash + 1)..]) : null;
    }

    private Price? FindId(string? provider, ReadOnlySpan<char> id)
    {
        if (Lookup(provider, id) is { } price)
        {
            return price;
        }

        var baseId = WithoutVersionSuffix(id);
        return baseId.Length < id.Length && baseId.Length > 0 ? Lookup(provider, baseId) : null;
    }

    private Price? Lookup(string? provider, ReadOnlySpan<char> id)
    {
        if (!string.IsNullOrEmpty(provider) && provider.Length + 1 + id.Length <= MaxKeyChars)
        {
            Span<char> key = stackalloc char[provider.Length + 1 + id.Length];
            provider.AsSpan().CopyTo(key);
            key[provider.Length] = ':';
            id.CopyTo(key[(provider.Length + 1)..]);
            if (_lookup.TryGetValue(key, out var specific))
            {
                return specific;
            }
        }

        return _lookup.TryGetValue(id, out var price) ? price : null;
    }

    /// <summary>
    /// The id without a trailing <c>-YYYY-MM-DD</c> (OpenAI), <c>-YYYYMMDD</c> (Anthropic) or <c>-latest</c>. Only these:
    /// <c>o3-pro</c> is not <c>o3</c>, and <c>claude-sonnet-4-7</c> is not <c>claude-sonnet-4</c>.
    /// </summary>
    private static ReadOnlySpan<char> WithoutVersionSuffix(ReadOnlySpan<char> id)
    {
        if (id.EndsWith("-latest", StringComparison.OrdinalIgnoreCase))
        {
            return id[..^"-latest".Length];
        }

        if (id.Length > 11 && id[^11] == '-' && id[^6] == '-' && id[^3] == '-'
            && AllDigits(id.Slice(id.Length - 10, 4)) && AllDigits(id.Slice(id.Length - 5, 2)) && AllDigits(id.Slice(id.Length - 2, 2)))
        {
            return id[..^11];
        }

        if (id.Length > 9 && id[^9] == '-' && AllDigits(id[^8..]))
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

    /// <summary>Reads <c>prices.json</c>: <c>{"prices": {"key": {"input", "output", "cached_input"?}}}</c>.</summary>
    internal static Dictionary<string, Price> Parse(Stream json)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        var prices = new Dictionary<string, Price>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in document.RootElement.GetProperty("prices").EnumerateObject())
        {
            var input = entry.Value.GetProperty("input").GetDecimal();
            var output = entry.Value.GetProperty("output").GetDecimal();
            var cached = entry.Value.TryGetProperty("cached_input", out var c) ? c.GetDecimal() : input;
            if (input < 0 || output < 0 || cached < 0)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"prices.json: '{entry.Name}' has a negative price"));
            }

            prices[entry.Name] = new Price(input, output, cached);
        }

        return prices;
    }

    private static Dictionary<string, Price> LoadBuiltIn()
    {
        using var stream = typeof(ModelPrices).Assembly.GetManifestResourceStream("Roxy.Api.Pricing.prices.json")
            ?? throw new InvalidOperationException("The built-in price table (Roxy.Api.Pricing.prices.json) is not embedded.");
        return Parse(stream);
    }
}
