using System.Globalization;
using System.Text;
using Roxy.Api.Usage;

namespace Roxy.Api.Commands;

/// <summary><c>#roxy usage [today|month]</c>: the tenant's requests, tokens, cost and savings by model, key and token.</summary>
public sealed class UsageCommand(UsageReports reports) : IRoxyCommand
{
    public string Name => "usage";
    public string Syntax => "#roxy usage [today|month]";
    public string Summary => "Requests, tokens in and out, cost and cache savings today (UTC) or this month, by model, key and token.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        if (args.OptionNames.Any() || args.Positional.Count > 1)
        {
            return CommandReply.Error("This command takes at most one argument: `today` or `month`.", Syntax);
        }

        var word = args.Positional.Count == 0 ? "today" : args.Positional[0].ToLowerInvariant();
        var period = word switch
        {
            "today" or "day" => UsageReports.Day,
            "month" => UsageReports.Month,
            _ => null,
        };
        if (period is null)
        {
            return CommandReply.Error($"Unknown period `{Shorten(args.Positional[0])}`: use `today` or `month`.", Syntax);
        }

        var report = await reports.BuildAsync(context.Identity.TenantId, period, context.Time.GetUtcNow());
        return CommandReply.Ok(Render(report));
    }

    /// <summary>The report as Markdown: a heading, the totals, then one table per grouping.</summary>
    public static string Render(UsageReport report)
    {
        var text = new StringBuilder();
        var when = report.Period == UsageReports.Day
            ? $"today ({report.From:yyyy-MM-dd} UTC)"
            : $"this month ({report.From:yyyy-MM-dd} to {report.To:yyyy-MM-dd} UTC)";
        text.Append(CultureInfo.InvariantCulture, $"**Usage** of tenant `{report.Tenant}` {when}\n\n");
        if (report.Total.Requests == 0)
        {
            text.Append("No requests yet.");
            return text.ToString();
        }

        Table(text, "", [report.Total]);
        Table(text, "model", report.ByModel);
        Table(text, "key", report.ByKey);
        Table(text, "token", report.ByToken);
        if (report.Unpriced.Count > 0)
        {
            text.Append("\nNo price (counted as $0): ").AppendJoin(", ", report.Unpriced.Select(Markdown.Code)).Append(". Add them under `prices:` in the config.\n");
        }

        return text.ToString();
    }

    /// <summary>An amount as the reports show it: four decimals, enough for one cheap request.</summary>
    public static string Usd(decimal amount) => "$" + amount.ToString("0.0000", CultureInfo.InvariantCulture);

    private static void Table(StringBuilder text, string by, IReadOnlyList<UsageLine> lines)
    {
        text.Append(CultureInfo.InvariantCulture, $"\n| {(by.Length == 0 ? "" : by)} | requests | cache hits | tokens in | tokens out | cached in | cost | saved |\n");
        text.Append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var line in lines)
        {
            var id = by switch
            {
                "" => "**total**",
                "key" when line.Id.Length == 0 => "(prompt cache)",
                _ => Markdown.Code(line.Id),
            };
            text.Append(CultureInfo.InvariantCulture,
                $"| {id} | {line.Requests} | {line.CacheHits} | {line.PromptTokens} | {line.CompletionTokens} | {line.CachedTokens} | {Usd(line.CostUsd)} | {Usd(line.SavedUsd)} |\n");
        }
    }

    // The argument is echoed back, but never at any length.
    private static string Shorten(string word) => (word.Length > 20 ? word[..20] + "…" : word).Replace("`", "'", StringComparison.Ordinal);
}
