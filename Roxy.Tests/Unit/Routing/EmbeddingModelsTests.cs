using Roxy.Grains.Routing;

namespace Roxy.Tests.Unit.Routing;

public sealed class EmbeddingModelsTests
{
    [Theory]
    [InlineData("text-embedding-3-small", true)]
    [InlineData("nomic-embed-text", true)]
    [InlineData("Embed-English-v3.0", true)]
    [InlineData("mistral-embed", true)]
    [InlineData("gpt-4o", false)]
    [InlineData("claude-3-5-sonnet-latest", false)]
    public void Embedding_models_are_the_ones_named_embed(string model, bool embedding) =>
        Assert.Equal(embedding, EmbeddingModels.IsEmbeddingModel(model));

    [Fact]
    public void Providers_may_differ_and_an_aggregator_prefix_is_the_same_model()
    {
        Assert.Empty(EmbeddingModels.Mixed("vectors", ["text-embedding-3-small", "openai/text-embedding-3-small", "TEXT-EMBEDDING-3-SMALL"]));
        Assert.Equal(["text-embedding-3-small", "text-embedding-3-large"], EmbeddingModels.Mixed("vectors", ["text-embedding-3-small", "text-embedding-3-large"]));
    }

    [Fact]
    public void Chat_rules_may_mix_models_and_the_source_alone_makes_an_embedding_rule()
    {
        Assert.Empty(EmbeddingModels.Mixed("smart", ["gpt-4o", "claude-3-5-sonnet-latest"]));
        Assert.Equal(["bge-small", "bge-large"], EmbeddingModels.Mixed("embedder", ["bge-small", "bge-large"]));
    }
}
