using Roxy.Api.Configuration;
using Roxy.Api.Pricing;

namespace Roxy.Tests.Unit.Pricing;

public sealed class PriceConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("roxy-prices-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string yaml)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\n" + yaml);
        return path;
    }

    private static Dictionary<string, string?> Env() => new(StringComparer.Ordinal) { ["ROXY_TOKEN"] = "tok-admin-0123456789" };

    [Fact]
    public void Prices_in_config_reach_the_price_table()
    {
        var result = ConfigLoader.Load(Write("""
            prices:
              "openai:gpt-4o-mini": { input: 0.2, output: 0.8, cached_input: 0.1 }
              house-model: { input: 1, output: 2 }
            """), Env());

        Assert.Empty(result.Errors);
        var prices = ConfiguredPrices.From(result.Config!.Raw);
        Assert.Equal(new ModelPrices.Price(0.2m, 0.8m, 0.1m), prices.Find("openai", "gpt-4o-mini"));
        Assert.Equal(new ModelPrices.Price(1m, 2m, 1m), prices.Find("openrouter", "house-model"));
    }

    [Fact]
    public void Each_bad_price_is_one_line_naming_it()
    {
        var result = ConfigLoader.Load(Write("""
            prices:
              gpt-4o: { input: -1, output: 10 }
              gpt-4o-mini: { input: 0.15 }
              o3: { input: 2, output: 8, cache: 1 }
              "nosuch:gpt-4o": { input: 1, output: 1 }
              "openai:": { input: 1, output: 1 }
            """), Env());

        Assert.Null(result.Config);
        Assert.True(result.Errors.Count == 5, string.Join("\n", result.Errors));
        Assert.Contains(result.Errors, e => e.Contains("prices.gpt-4o.input: must be a price in USD per 1M tokens from 0 to 1000000, got '-1'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("prices.gpt-4o-mini.output: is required", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("prices.o3.cache: unknown field; allowed here: input, output, cached_input", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("prices.nosuch:gpt-4o: unknown provider 'nosuch'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("prices.openai:: names no model", StringComparison.Ordinal));
    }

    [Fact]
    public void Cached_input_above_input_and_prices_beyond_a_million_are_refused_one_line_each()
    {
        var result = ConfigLoader.Load(Write("""
            prices:
              gpt-4o: { input: 2.5, output: 10, cached_input: 3 }
              huge: { input: 1e30, output: 1 }
              dear: { input: 1, output: 2000000, cached_input: 1000001 }
              "openai:at-the-limit": { input: 1000000, output: 1000000, cached_input: 1000000 }
            """), Env());

        Assert.Null(result.Config);
        Assert.True(result.Errors.Count == 4, string.Join("\n", result.Errors));
        Assert.Contains(result.Errors, e => e.Contains("prices.gpt-4o.cached_input: must not be above input (2.5), got '3'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("prices.huge.input: must be a price in USD per 1M tokens from 0 to 1000000, got '1E+30'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("prices.dear.output: must be a price in USD per 1M tokens from 0 to 1000000, got '2000000'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("prices.dear.cached_input: must be a price in USD per 1M tokens from 0 to 1000000, got '1000001'", StringComparison.Ordinal));
    }

    [Fact]
    public void Prices_at_the_limit_reach_the_price_table()
    {
        var result = ConfigLoader.Load(Write("""
            prices:
              house: { input: 1000000, output: 1000000, cached_input: 0 }
            """), Env());

        Assert.Empty(result.Errors);
        Assert.Equal(new ModelPrices.Price(1_000_000m, 1_000_000m, 0m), ConfiguredPrices.From(result.Config!.Raw).Find("house"));
    }
}
