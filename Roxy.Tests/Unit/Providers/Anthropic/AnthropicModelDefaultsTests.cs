using Roxy.Api.Providers.Anthropic;

namespace Roxy.Tests.Unit.Providers.Anthropic;

public class AnthropicModelDefaultsTests
{
    [Theory]
    [InlineData("claude-3-haiku-20240307", 4_096)]
    [InlineData("claude-3-sonnet-20240229", 4_096)]
    [InlineData("claude-3-opus-latest", 4_096)]
    [InlineData("claude-3-5-sonnet-20240620", 8_192)]
    [InlineData("claude-3-5-sonnet-20241022", 8_192)]
    [InlineData("claude-3-5-haiku-latest", 8_192)]
    [InlineData("claude-3-7-sonnet-20250219", 64_000)]
    [InlineData("claude-3-7-sonnet-latest", 64_000)]
    [InlineData("claude-sonnet-4-20250514", 64_000)]
    [InlineData("claude-sonnet-4-0", 64_000)]
    [InlineData("claude-opus-4-20250514", 32_000)]
    [InlineData("claude-opus-4-0", 32_000)]
    [InlineData("claude-opus-4-1-20250805", 32_000)]
    [InlineData("claude-opus-4-1", 32_000)]
    [InlineData("claude-sonnet-4-5-20250929", 64_000)]
    [InlineData("claude-haiku-4-5-20251001", 64_000)]
    [InlineData("claude-opus-4-5-20251101", 64_000)]
    [InlineData("claude-opus-4-6", 128_000)]
    [InlineData("claude-sonnet-4-6", 128_000)]
    [InlineData("claude-opus-4-7", 128_000)]
    [InlineData("CLAUDE-SONNET-4-5", 64_000)]
    public void Known_models_get_their_real_maximum_output(string model, int expected)
    {
        Assert.Equal(expected, AnthropicModelDefaults.KnownMaxOutputTokens(model));
        Assert.Equal(expected, AnthropicModelDefaults.DefaultMaxTokens(model));
    }

    [Theory]
    [InlineData("claude-opus-4-9")]
    [InlineData("claude-sonnet-4-55")]
    [InlineData("claude-3-5-sonnetx")]
    [InlineData("claude-7")]
    [InlineData("my-finetune")]
    [InlineData("")]
    public void Unknown_models_get_the_documented_default(string model)
    {
        Assert.Null(AnthropicModelDefaults.KnownMaxOutputTokens(model));
        Assert.Equal(AnthropicModelDefaults.UnknownModelMaxTokens, AnthropicModelDefaults.DefaultMaxTokens(model));
    }

    [Theory]
    [InlineData("claude-opus-4-7", true)]
    [InlineData("claude-opus-4-8", true)]
    [InlineData("claude-opus-4-6", false)]
    [InlineData("claude-sonnet-4-5", false)]
    [InlineData("unknown", false)]
    public void Only_models_that_refuse_sampling_parameters_lose_them(string model, bool rejects) =>
        Assert.Equal(rejects, AnthropicModelDefaults.RejectsSamplingParameters(model));
}
