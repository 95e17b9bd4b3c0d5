using Roxy.Api.Administration;

namespace Roxy.Api.Apis.Admin;

/// <summary>SPEC §7's cache stats: settings, entries and bytes the current generation reaches, hits, misses, ratio and savings.</summary>
/// <param name="Mode"><c>all</c> or <c>deterministic</c>.</param>
/// <param name="HitRatio">Hits over hits plus misses, 0 before any lookup.</param>
/// <param name="SavedUsd">Estimated cost the hits saved; models without a price (see <c>unpriced</c>) count as 0.</param>
public sealed record CacheStatsView(
    bool Enabled, string Mode, int TtlSec, int MaxEntryBytes, long Entries, long Bytes, long Hits, long Misses, double HitRatio,
    long PromptTokensSaved, long CompletionTokensSaved, decimal SavedUsd, IReadOnlyList<CacheModelSavingView> Models, IReadOnlyList<string> Unpriced)
{
    public static CacheStatsView Example { get; } = new(
        true, "all", 3600, 1_048_576, 42, 96_000, 120, 80, 0.6, 36_000, 9_000, 0.0108m, [CacheModelSavingView.Example], []);

    public static CacheStatsView From(CacheReport report) => new(
        report.Settings.Enabled, report.Settings.DeterministicOnly ? "deterministic" : "all", report.Settings.TtlSec, report.Settings.MaxEntryBytes,
        report.Stats.Entries, report.Stats.Bytes, report.Stats.Hits, report.Stats.Misses, report.Stats.HitRatio,
        report.Savings.Sum(s => s.Model.PromptTokens), report.Savings.Sum(s => s.Model.CompletionTokens), report.SavedUsd,
        [.. report.Savings.Select(s => new CacheModelSavingView(s.Model.Provider, s.Model.Model, s.Model.Hits, s.Model.PromptTokens, s.Model.CompletionTokens, s.Model.CachedTokens, s.SavedUsd))],
        [.. report.Unpriced]);
}
