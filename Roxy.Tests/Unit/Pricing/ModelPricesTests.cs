using FsCheck;
using FsCheck.Fluent;
using Roxy.Api.Pricing;

namespace Roxy.Tests.Unit.Pricing;

public sealed class ModelPricesTests
{
    private static readonly ModelPrices Prices = ModelPrices.BuiltIn;

    [Theory]
    [InlineData("gpt-4o", 2.50, 10.00)]
    [InlineData("gpt-4o-2024-08-06", 2.50, 10.00)]
    [InlineData("gpt-4o-mini-2024-07-18", 0.15, 0.60)]
    [InlineData("GPT-4.1-mini", 0.40, 1.60)]
    [InlineData("gpt-4.1-2025-04-14", 2.00, 8.00)]
    [InlineData("gpt-5", 1.25, 10.00)]
    [InlineData("gpt-5-mini-2025-08-07", 0.25, 2.00)]
    [InlineData("o4-mini-2025-04-16", 1.10, 4.40)]
    [InlineData("o3-mini", 1.10, 4.40)]
    [InlineData("text-embedding-3-small", 0.02, 0)]
    [InlineData("claude-3-5-sonnet-20241022", 3.00, 15.00)]
    [InlineData("claude-3-5-haiku-latest", 0.80, 4.00)]
    [InlineData("claude-sonnet-4-20250514", 3.00, 15.00)]
    [InlineData("claude-opus-4-1-20250805", 15.00, 75.00)]
    [InlineData("claude-opus-4-5-20251101", 5.00, 25.00)]
    [InlineData("claude-haiku-4-5-20251001", 1.00, 5.00)]
    [InlineData("openai/gpt-4o-mini", 0.15, 0.60)]
    public void Known_models_and_their_dated_ids_have_their_list_price(string model, double input, double output)
    {
        var price = Prices.Find(model);
        Assert.NotNull(price);
        Assert.Equal((decimal)input, price.Value.InputPerMillion);
        Assert.Equal((decimal)output, price.Value.OutputPerMillion);
    }

    [Theory]
    [InlineData("o3-pro")] // not o3: only a date or -latest is stripped
    [InlineData("gpt-4o-audio-preview")]
    [InlineData("claude-sonnet-4-7")]
    [InlineData("llama3:8b")]
    [InlineData("gpt-fake-echo")]
    [InlineData("")]
    public void Anything_else_is_unpriced_not_guessed(string model)
    {
        Assert.Null(Prices.Find(model));
        Assert.Null(Prices.Find("openai", model));
    }

    [Fact]
    public void Cost_prices_fresh_cached_and_output_tokens_apart()
    {
        var price = Prices.Find("openai", "gpt-4o")!.Value;
        Assert.Equal(0.0150m, price.Cost(2000, 1000)); // 2000 × $2.50/M + 1000 × $10/M
        Assert.Equal(0.01375m, price.Cost(2000, 1000, cachedTokens: 1000)); // 1000 of the prompt at $1.25/M
        Assert.Equal(0m, price.Cost(0, 0));
    }

    [Theory]
    [InlineData("openrouter", "anthropic/claude-sonnet-4.5", 3.00, 15.00)]
    [InlineData("openrouter", "google/gemini-2.5-pro", 1.25, 10.00)]
    [InlineData("openrouter", "google/gemini-2.5-flash", 0.30, 2.50)]
    [InlineData("openrouter", "meta-llama/llama-3.3-70b-instruct", 0.10, 0.32)]
    [InlineData("openrouter", "deepseek/deepseek-chat", 0.27, 1.10)]
    [InlineData("openrouter", "openai/gpt-4o-2024-08-06", 2.50, 10.00)]
    [InlineData("openrouter", "anthropic/claude-opus-4-1-20250805", 15.00, 75.00)] // not an OpenRouter id: the model after the vendor
    public void OpenRouter_ids_are_priced_under_their_provider(string provider, string model, double input, double output)
    {
        var price = Prices.Find(provider, model);
        Assert.NotNull(price);
        Assert.Equal((decimal)input, price.Value.InputPerMillion);
        Assert.Equal((decimal)output, price.Value.OutputPerMillion);
    }

    [Theory]
    [InlineData("openrouter", "anthropic/claude-3.5-sonnet", 3.00, 15.00)] // SPEC §3's example: Anthropic's claude-3-5-sonnet
    [InlineData("openrouter", "anthropic/claude-3.5-sonnet-20241022", 3.00, 15.00)]
    [InlineData(null, "claude-3.5-haiku", 0.80, 4.00)]
    [InlineData("openrouter", "anthropic/claude-opus-4.5", 5.00, 25.00)] // listed as such: found before any dot is read as a dash
    public void Dotted_ids_fall_back_to_their_dashed_vendor_id(string? provider, string model, double input, double output)
    {
        var price = Prices.Find(provider, model);
        Assert.NotNull(price);
        Assert.Equal(((decimal)input, (decimal)output), (price.Value.InputPerMillion, price.Value.OutputPerMillion));
    }

    [Fact]
    public void An_exact_dotted_id_wins_over_its_dashed_reading()
    {
        // A table where both readings exist: gpt-4.1 must stay gpt-4.1, and a listed dotted OpenRouter id keeps its own price.
        var prices = Prices.With([
            KeyValuePair.Create("gpt-4-1", new ModelPrices.Price(99m, 99m, 99m)),
            KeyValuePair.Create("openrouter:anthropic/claude-3.5-sonnet", new ModelPrices.Price(7m, 8m, 1m)),
        ]);

        Assert.Equal(2.00m, prices.Find("gpt-4.1")!.Value.InputPerMillion);
        Assert.Equal(2.00m, prices.Find("openai", "gpt-4.1-2025-04-14")!.Value.InputPerMillion);
        Assert.Equal(2.00m, prices.Find("openrouter", "openai/gpt-4.1")!.Value.InputPerMillion);
        Assert.Equal(new ModelPrices.Price(7m, 8m, 1m), prices.Find("openrouter", "anthropic/claude-3.5-sonnet"));
        Assert.Equal(3.00m, prices.Find("anthropic", "claude-3.5-sonnet")!.Value.InputPerMillion);
        Assert.Null(prices.Find("openai", "gpt-4.2")); // "gpt-4-2" is not listed either: still unpriced, not guessed
    }

    [Fact]
    public void A_provider_specific_price_wins_over_the_bare_model_and_applies_only_to_that_provider()
    {
        var prices = Prices.With([KeyValuePair.Create("chutes:gpt-4o", new ModelPrices.Price(1m, 2m, 0.5m))]);

        Assert.Equal(new ModelPrices.Price(1m, 2m, 0.5m), prices.Find("chutes", "gpt-4o"));
        Assert.Equal(new ModelPrices.Price(1m, 2m, 0.5m), prices.Find("chutes", "gpt-4o-2024-08-06"));
        Assert.Equal(2.50m, prices.Find("openai", "gpt-4o")!.Value.InputPerMillion);
        Assert.Equal(2.50m, prices.Find("gpt-4o")!.Value.InputPerMillion);
    }

    [Fact]
    public void Config_prices_override_and_extend_the_built_in_table()
    {
        var prices = ConfiguredPrices.From(ModelPrices.BuiltIn, new Dictionary<string, Api.Configuration.PriceConfig>
        {
            ["openai:gpt-4o-mini"] = new() { Input = 0.2, Output = 0.8, CachedInput = 0.1 },
            ["house-llama"] = new() { Input = 0.05, Output = 0.1 },
        });

        Assert.Equal(new ModelPrices.Price(0.2m, 0.8m, 0.1m), prices.Find("openai", "gpt-4o-mini"));
        Assert.Equal(0.15m, prices.Find("openrouter", "gpt-4o-mini")!.Value.InputPerMillion);
        var house = prices.Find("ollama", "house-llama")!.Value;
        Assert.Equal(0.05m, house.CachedInputPerMillion); // no cached_input: cached tokens at the input price
        Assert.Equal(0.000150m, house.Cost(1000, 1000, cachedTokens: 400)); // 600 × 0.05 + 400 × 0.05 + 1000 × 0.1, per M
        Assert.Null(ModelPrices.BuiltIn.Find("house-llama"));
    }

    [Fact]
    public void The_built_in_table_is_read_from_its_data_file_with_a_price_for_every_entry()
    {
        Assert.True(Prices.Entries.Count >= 40, $"only {Prices.Entries.Count} built-in prices");
        Assert.All(Prices.Entries, e =>
        {
            Assert.True(e.Value.InputPerMillion >= 0 && e.Value.OutputPerMillion >= 0 && e.Value.CachedInputPerMillion >= 0, e.Key);
            Assert.True(e.Value.CachedInputPerMillion <= e.Value.InputPerMillion, $"{e.Key}: cached input dearer than input");
        });
    }

    [Fact]
    public void Cost_is_additive_and_cached_input_never_costs_more_than_fresh()
    {
        var price = Prices.Find("anthropic", "claude-sonnet-4-5")!.Value;
        Prop.ForAll(
            Gen.Choose(0, 2_000_000).ToArbitrary(), Gen.Choose(0, 2_000_000).ToArbitrary(), Gen.Choose(0, 100).ToArbitrary(),
            (prompt, completion, cachedPercent) =>
            {
                var cached = prompt / 100 * cachedPercent;
                var whole = price.Cost(prompt, completion, cached);
                var parts = price.Cost(prompt, 0, cached) + price.Cost(0, completion);
                return whole == parts && whole <= price.Cost(prompt, completion) && whole >= 0;
            }).QuickCheckThrowOnFailure();
    }
}
