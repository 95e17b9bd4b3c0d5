namespace Roxy.Grains.Usage;

/// <summary>Adding up <see cref="UsageDelta"/>s that share a row key (day, provider, model, key, token).</summary>
public static class UsageRows
{
    public static (DateOnly Day, string Provider, string Model, string KeyId, string TokenId) KeyOf(UsageDelta row) =>
        (row.Day, row.Provider, row.Model, row.KeyId, row.TokenId);

    /// <summary>The sums of two rows of the same key; the later last-at.</summary>
    public static UsageDelta Add(UsageDelta a, UsageDelta b) => a with
    {
        Requests = a.Requests + b.Requests,
        CacheHits = a.CacheHits + b.CacheHits,
        PromptTokens = a.PromptTokens + b.PromptTokens,
        CompletionTokens = a.CompletionTokens + b.CompletionTokens,
        CachedTokens = a.CachedTokens + b.CachedTokens,
        CostUsd = a.CostUsd + b.CostUsd,
        SavedUsd = a.SavedUsd + b.SavedUsd,
        LastAt = a.LastAt >= b.LastAt ? a.LastAt : b.LastAt,
    };

    /// <summary>Adds <paramref name="row"/> into <paramref name="rows"/> under its key.</summary>
    public static void AddTo(Dictionary<(DateOnly, string, string, string, string), UsageDelta> rows, UsageDelta row)
    {
        var key = KeyOf(row);
        rows[key] = rows.TryGetValue(key, out var known) ? Add(known, row) : row;
    }
}
