using Roxy.Api.Pricing;
using Roxy.Grains.Usage;

namespace Roxy.Api.Usage;

/// <summary>Builds <see cref="UsageReport"/>s from a tenant's usage rows: what <c>#roxy usage</c> and the usage route show.</summary>
public sealed class UsageReports(UsageFlusher usage, ModelPrices prices)
{
    public const string Day = "day";
    public const string Month = "month";

    /// <summary>The tenant's report for <paramref name="period"/> (<see cref="Day"/> or <see cref="Month"/>) as of <paramref name="now"/>.</summary>
    public async Task<UsageReport> BuildAsync(string tenantId, string period, DateTimeOffset now)
    {
        var (from, to) = Range(period, now);
        return Build(tenantId, period, from, to, await usage.ReadAsync(tenantId, from, to));
    }

    /// <summary>The UTC days a period covers at <paramref name="now"/>: today, or the first of this month to today.</summary>
    public static (DateOnly From, DateOnly To) Range(string period, DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        return period switch
        {
            Day => (today, today),
            Month => (new DateOnly(today.Year, today.Month, 1), today),
            _ => throw new ArgumentOutOfRangeException(nameof(period), period, "a usage period is day or month"),
        };
    }

    public UsageReport Build(string tenantId, string period, DateOnly from, DateOnly to, IEnumerable<UsageDelta> rows)
    {
        var inRange = rows.Where(r => r.Day >= from && r.Day <= to).ToArray();
        var unpriced = inRange
            .Where(r => r.CacheHits < r.Requests && prices.Find(r.Provider, r.Model) is null)
            .Select(r => $"{r.Provider}:{r.Model}")
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray();
        return new UsageReport(
            tenantId, period, from, to,
            Sum("total", inRange),
            Group(inRange, r => $"{r.Provider}:{r.Model}"),
            Group(inRange, r => r.KeyId),
            Group(inRange, r => r.TokenId),
            unpriced);
    }

    // Most requests first; ties by id, so a report reads the same every time.
    private static UsageLine[] Group(IEnumerable<UsageDelta> rows, Func<UsageDelta, string> by) =>
        [.. rows.GroupBy(by, StringComparer.Ordinal)
            .Select(g => Sum(g.Key, g))
            .OrderByDescending(l => l.Requests)
            .ThenBy(l => l.Id, StringComparer.Ordinal)];

    private static UsageLine Sum(string id, IEnumerable<UsageDelta> rows)
    {
        long requests = 0, hits = 0, prompt = 0, completion = 0, cached = 0;
        decimal cost = 0, saved = 0;
        foreach (var r in rows)
        {
            requests += r.Requests;
            hits += r.CacheHits;
            prompt += r.PromptTokens;
            completion += r.CompletionTokens;
            cached += r.CachedTokens;
            cost += r.CostUsd;
            saved += r.SavedUsd;
        }

        return new UsageLine(id, requests, hits, prompt, completion, cached, cost, saved);
    }
}
