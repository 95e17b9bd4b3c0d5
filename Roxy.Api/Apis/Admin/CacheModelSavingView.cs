namespace Roxy.Api.Apis.Admin;

/// <summary>What the cache saved for one answering model; <c>saved_usd</c> is null when the model has no price.</summary>
public sealed record CacheModelSavingView(string Provider, string Model, long Hits, long PromptTokens, long CompletionTokens, long CachedTokens, decimal? SavedUsd)
{
    public static CacheModelSavingView Example { get; } = new("openai", "gpt-4o-mini", 120, 36_000, 9_000, 0, 0.0108m);
}
