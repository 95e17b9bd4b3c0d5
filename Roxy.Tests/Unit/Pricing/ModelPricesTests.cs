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
    [InlineData("o4-mini-2025-04-16", 1.10, 4.40)]
    [InlineData("o3-mini", 1.10, 4.40)]
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
    public void Anything_else_is_unpriced_not_guessed(string model) => Assert.Null(Prices.Find(model));

    [Fact]
    public void Cost_prices_fresh_cached_and_output_tokens_apart()
    {
        var price = Prices.Find("gpt-4o")!.Value;
        Assert.Equal(0.0150m, price.Cost(2000, 1000)); // 2000 × $2.50/M + 1000 × $10/M
        Assert.Equal(0.01375m, price.Cost(2000, 1000, cachedTokens: 1000)); // 1000 of the prompt at $1.25/M
        Assert.Equal(0m, price.Cost(0, 0));
    }
}
