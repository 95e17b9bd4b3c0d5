namespace Roxy.Grains.Routing;

/// <summary>
/// Embedding rules may fail over between providers but never between models: vectors of different embedding models are
/// not comparable, so mixing them corrupts every index built from them. A rule is an embedding rule when its source or
/// any target names a model containing "embed" (any case: text-embedding-3-small, nomic-embed-text, embed-english-v3.0,
/// mistral-embed). Its targets name the same model when they agree after the last '/', ignoring case, so an aggregator's
/// <c>openrouter:openai/text-embedding-3-small</c> is the same model as <c>openai:text-embedding-3-small</c>.
/// </summary>
public static class EmbeddingModels
{
    public static bool IsEmbeddingModel(string model) => model.Contains("embed", StringComparison.OrdinalIgnoreCase);

    /// <summary>The distinct models an embedding rule names, when there is more than one; empty for a valid or chat rule.</summary>
    public static IReadOnlyList<string> Mixed(string sourceModel, IEnumerable<string> targetModels)
    {
        var models = targetModels.ToArray();
        if (!IsEmbeddingModel(sourceModel) && !models.Any(IsEmbeddingModel))
        {
            return [];
        }

        var distinct = models.DistinctBy(BaseName, StringComparer.OrdinalIgnoreCase).ToArray();
        return distinct.Length > 1 ? distinct : [];
    }

    public static IReadOnlyList<string> Mixed(ModelRule rule) => Mixed(rule.SourceModel, rule.Targets.Select(t => t.Model));

    private static string BaseName(string model) => model[(model.LastIndexOf('/') + 1)..];
}
