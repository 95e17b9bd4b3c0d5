using System.Globalization;
using System.Text;
using Roxy.Api.Caching;
using Roxy.Api.Pricing;
using Roxy.Grains;
using Roxy.Grains.Caching;

namespace Roxy.Api.Commands;

public sealed class CacheStatsCommand(IGrainFactory grains, CacheStatsRecorder recorder, ModelPrices prices) : IRoxyCommand
{
    public string Name => "cache stats";
    public string Syntax => "#roxy cache stats";
    public string Summary => "The prompt cache: entries, size, hits, misses, hit ratio, tokens and estimated cost saved per model.";
    public bool AdminOnly => false;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        if (args.Positional.Count > 0 || args.OptionNames.Any())
        {
            return CommandReply.Error("This command takes no arguments.", Syntax);
        }

        var snapshot = await context.Tenant.GetSnapshotAsync();
        var stats = await ReadAsync(grains, recorder, context.Identity.TenantId, snapshot.CacheGeneration);
        var cache = snapshot.Cache;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"**Prompt cache** of tenant `{context.Identity.TenantId}`: {(cache.Enabled ? "enabled" : "disabled")}, mode {(cache.DeterministicOnly ? "deterministic" : "all")}, TTL {cache.TtlSec}s, entries up to {Bytes(cache.MaxEntryBytes)}\n\n");
        text.Append("| entries | size | hits | misses | hit ratio |\n|---:|---:|---:|---:|---:|\n");
        text.Append(CultureInfo.InvariantCulture, $"| {stats.Entries} | {Bytes(stats.Bytes)} | {stats.Hits} | {stats.Misses} | {Ratio(stats)} |\n");
        if (stats.Savings.Count == 0)
        {
            text.Append("\nNo hits yet, so nothing saved.");
            return CommandReply.Ok(text.ToString());
        }

        text.Append("\n| provider | model | hits | tokens saved (in / out) | est. cost saved |\n|---|---|---:|---:|---:|\n");
        long promptTotal = 0, completionTotal = 0;
        var costTotal = 0m;
        var unpriced = new List<string>();
        foreach (var model in stats.Savings.OrderByDescending(s => s.Hits).ThenBy(s => s.Model, StringComparer.Ordinal))
        {
            var price = prices.Find(model.Model);
            var cost = price?.Cost(model.PromptTokens, model.CompletionTokens, model.CachedTokens);
            promptTotal += model.PromptTokens;
            completionTotal += model.CompletionTokens;
            costTotal += cost ?? 0;
            if (cost is null)
            {
                unpriced.Add(Markdown.Code(model.Model));
            }

            text.Append(CultureInfo.InvariantCulture,
                $"| {model.Provider} | {Markdown.Code(model.Model)} | {model.Hits} | {model.PromptTokens} / {model.CompletionTokens} | {(cost is { } c ? Usd(c) : "unpriced")} |\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"| **total** | | {stats.Hits} | {promptTotal} / {completionTotal} | {Usd(costTotal)} |\n");
        if (unpriced.Count > 0)
        {
            text.Append("\nUnpriced (no built-in price, counted as $0): ").Append(string.Join(", ", unpriced.Distinct())).Append('.');
        }

        return CommandReply.Ok(text.ToString());
    }

    /// <summary>The tenant's counters as the cluster holds them, with what this frontend has not reported yet.</summary>
    public static async Task<CacheStats> ReadAsync(IGrainFactory grains, CacheStatsRecorder recorder, string tenantId, long generation) =>
        recorder.AddPending(tenantId, await grains.GetGrain<ICacheStatsGrain>(GrainKeys.CacheStats(tenantId)).GetAsync(generation));

    public static string Ratio(CacheStats stats) =>
        stats.Hits + stats.Misses == 0 ? "–" : (stats.HitRatio * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
    };

    private static string Usd(decimal amount) => "$" + amount.ToString("0.0000", CultureInfo.InvariantCulture);
}
