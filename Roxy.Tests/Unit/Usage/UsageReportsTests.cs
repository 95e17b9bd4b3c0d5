using Microsoft.Extensions.Logging.Abstractions;
using Roxy.Api.Commands;
using Roxy.Api.Pricing;
using Roxy.Api.Usage;
using Roxy.Grains.Usage;

namespace Roxy.Tests.Unit.Usage;

public sealed class UsageReportsTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 14, 23, 59, 0, TimeSpan.Zero);

    // Build never calls the grains: the flusher is only needed by BuildAsync.
    private static readonly UsageReports Reports = new(
        new UsageFlusher(new UsageRecorder(TimeProvider.System), null!, TimeProvider.System, NullLogger<UsageFlusher>.Instance), ModelPrices.BuiltIn);

    private static UsageDelta Row(DateOnly day, string model, string key, string token, long requests, long hits, decimal cost, decimal saved) =>
        new(day, "openai", model, key, token, requests, hits, requests * 100, requests * 10, 0, cost, saved, Now);

    [Fact]
    public void Periods_are_today_and_the_first_of_the_month_to_today_in_UTC()
    {
        Assert.Equal((new DateOnly(2026, 3, 14), new DateOnly(2026, 3, 14)), UsageReports.Range(UsageReports.Day, Now));
        Assert.Equal((new DateOnly(2026, 3, 1), new DateOnly(2026, 3, 14)), UsageReports.Range(UsageReports.Month, Now));
        // 01:00 in UTC+2 on the 1st is still the last day of the previous month in UTC.
        var early = new DateTimeOffset(2026, 4, 1, 1, 0, 0, TimeSpan.FromHours(2));
        Assert.Equal((new DateOnly(2026, 3, 1), new DateOnly(2026, 3, 31)), UsageReports.Range(UsageReports.Month, early));
    }

    [Fact]
    public void A_report_sums_by_model_key_and_token_and_names_unpriced_models()
    {
        var today = new DateOnly(2026, 3, 14);
        var rows = new[]
        {
            Row(today, "gpt-4o", "k1", "alice", 3, 0, 0.3m, 0),
            Row(today, "gpt-4o", "", "bob", 2, 2, 0, 0.2m),
            Row(today, "gpt-fake", "k2", "alice", 1, 0, 0, 0),
            Row(today.AddDays(-20), "gpt-4o", "k1", "alice", 100, 0, 10m, 0), // last month: outside both periods
        };

        var report = Reports.Build("acme", UsageReports.Month, new DateOnly(2026, 3, 1), today, rows);

        Assert.Equal(new UsageLine("total", 6, 2, 600, 60, 0, 0.3m, 0.2m), report.Total);
        Assert.Equal([("openai:gpt-4o", 5L), ("openai:gpt-fake", 1L)], report.ByModel.Select(l => (l.Id, l.Requests)));
        Assert.Equal([("k1", 3L), ("", 2L), ("k2", 1L)], report.ByKey.Select(l => (l.Id, l.Requests)));
        Assert.Equal([("alice", 4L, 0.3m), ("bob", 2L, 0m)], report.ByToken.Select(l => (l.Id, l.Requests, l.CostUsd)));
        Assert.Equal(["openai:gpt-fake"], report.Unpriced);

        var markdown = UsageCommand.Render(report);
        Assert.Contains("| **total** | 6 | 2 | 600 | 60 | 0 | $0.3000 | $0.2000 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| (prompt cache) | 2 | 2 | 200 | 20 | 0 | $0.0000 | $0.2000 |", markdown, StringComparison.Ordinal);
        Assert.Contains("No price (counted as $0): `openai:gpt-fake`", markdown, StringComparison.Ordinal);
    }
}
