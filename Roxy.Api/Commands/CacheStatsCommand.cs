using System.Globalization;
using System.Text;
using Roxy.Api.Administration;
using Roxy.Api.Caching;
using Roxy.Grains;
using Roxy.Grains.Caching;

namespace Roxy.Api.Commands;

public sealed class CacheStatsCommand(CacheAdministration cache) : IRoxyCommand
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

        var report = await cache.StatsAsync(context.Identity.TenantId);
        var (stats, settings) = (report.Stats, report.Settings);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"**Prompt cache** of tenant `{context.Identity.TenantId}`: {(settings.Enabled ? "enabled" : "disabled")}, mode {(settings.DeterministicOnly ? "deterministic" : "all")}, TTL {settings.TtlSec}s, entries up to {Bytes(settings.MaxEntryBytes)}\n\n");
        text.Append("| entries | size | hits | misses | hit ratio |\n|---:|---:|---:|---:|---:|\n");
        text.Append(CultureInfo.InvariantCulture, $"| {stats.Entries} | {Bytes(stats.Bytes)} | {stats.Hits} | {stats.Misses} | {Ratio(stats)} |\n");
        if (report.Savings.Count == 0)
        {
            text.Append("\nNo hits yet, so nothing saved.");
            return CommandReply.Ok(text.ToString());
        }

        text.Append("\n| provider | model | hits | tokens saved (in / out) | est. cost saved |\n|---|---|---:|---:|---:|\n");
        foreach (var (model, saved) in report.Savings)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"| {model.Provider} | {Markdown.Code(model.Model)} | {model.Hits} | {model.PromptTokens} / {model.CompletionTokens} | {(saved is { } c ? Usd(c) : "unpriced")} |\n");
        }

        text.Append(CultureInfo.InvariantCulture,
            $"| **total** | | {stats.Hits} | {report.Savings.Sum(s => s.Model.PromptTokens)} / {report.Savings.Sum(s => s.Model.CompletionTokens)} | {Usd(report.SavedUsd)} |\n");
        if (report.Unpriced.Any())
        {
            text.Append("\nUnpriced (no built-in price, counted as $0): ").Append(string.Join(", ", report.Unpriced.Select(Markdown.Code))).Append('.');
        }

        return CommandReply.Ok(text.ToString());
    }

    /// <summary>The tenant's counters as the cluster holds them, with what this frontend has not reported yet (kept for <c>#roxy status</c>).</summary>
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
