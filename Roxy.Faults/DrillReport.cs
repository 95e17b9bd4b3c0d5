using System.Globalization;
using System.Text;
using Roxy.FakeUpstream;

namespace Roxy.Faults;

/// <summary>
/// The drill's result: one row per fault and a total row, the "Done when" criteria that failed (empty: all hold),
/// and the table as printed.
/// </summary>
public sealed class DrillReport
{
    /// <summary>Recovery must come within this of each fault ending.</summary>
    public const double RecoveryBound = 10;

    private DrillReport(IReadOnlyList<FaultRow> rows, IReadOnlyList<string> problems, IReadOnlyList<(string Name, string Ends)> definitions)
    {
        Rows = rows;
        Problems = problems;
        Definitions = definitions;
    }

    /// <summary>The faults' rows, then the total.</summary>
    public IReadOnlyList<FaultRow> Rows { get; }

    /// <summary>Every failed criterion, with the numbers.</summary>
    public IReadOnlyList<string> Problems { get; }

    public IReadOnlyList<(string Name, string Ends)> Definitions { get; }

    public FaultRow Total => Rows[^1];

    public static DrillReport Build(
        IReadOnlyList<FaultWindow> windows, IReadOnlyList<(string Name, string Ends)> definitions, IReadOnlyList<Outcome> outcomes,
        FakeOpenAiServer upstream, DrillSetup setup, DrillClock clock, IReadOnlyList<string> finalLost, string? finalBudgetSetting)
    {
        var rows = new List<FaultRow>();
        foreach (var window in windows)
        {
            var mine = outcomes.Where(o => o.SentAt >= window.Start && o.SentAt < window.Stop).ToList();
            double? recovery = 0;
            foreach (var end in window.Ends)
            {
                recovery = Recovery.After(outcomes, end) is { } seconds && recovery is { } worst ? Math.Max(worst, seconds) : null;
            }

            int? postgresErrors = null;
            if (window.PostgresAway is { } away)
            {
                // Warm: the tenant had a complete answer before PostgreSQL went away, so its grains were active.
                var warm = outcomes.Where(o => o.SentAt < away.From && o.Status == 200 && !o.Failed).Select(o => o.Tenant).ToHashSet(StringComparer.Ordinal);
                // Any failure counts, not only a 5xx status: a stream cut after its 200 is as much an error to its client.
                postgresErrors = mine.Count(o => o.SentAt >= away.From && o.SentAt <= away.To && warm.Contains(o.Tenant) && o.Failed);
            }

            var notes = new List<string>(window.Notes);
            if (mine.Count > 0)
            {
                var slowest = mine.MaxBy(o => o.DoneAt - o.SentAt)!;
                notes.Add($"slowest answer {slowest.DoneAt - slowest.SentAt:F1} s ({slowest.Lane}, {slowest.Label})");
            }

            if (window.Readiness.Count > 0)
            {
                notes.Add("/readyz while PostgreSQL was away: " + string.Join(", ", window.Readiness.GroupBy(r => r).Select(g => $"{g.Key} ×{g.Count()}")));
            }

            rows.Add(Row(window.Name, mine, recovery, clock.TimestampAt(window.Start - 60), clock.TimestampAt(window.Stop), upstream, setup,
                window.Lost, BudgetProblem(outcomes, window.Stop, window.BudgetSetting), postgresErrors, notes));
        }

        var worstRecovery = rows.Aggregate((double?)0, (acc, r) => acc is { } a && r.RecoverySeconds is { } b ? Math.Max(a, b) : null);
        var pgErrors = rows.Any(r => r.PostgresErrors is not null) ? rows.Sum(r => r.PostgresErrors ?? 0) : (int?)null;
        rows.Add(Row("total", outcomes, worstRecovery, long.MinValue, long.MaxValue, upstream, setup, finalLost,
            BudgetProblem(outcomes, double.MaxValue, finalBudgetSetting), pgErrors, []));

        var problems = new List<string>();
        foreach (var row in rows)
        {
            if (row.OverLimit.Count > 0)
            {
                problems.Add($"{row.Name}: key over its limit in a 60 s window: {string.Join(", ", row.OverLimit)}");
            }

            if (row.Lost.Count > 0)
            {
                problems.Add($"{row.Name}: lost or unusable: {string.Join("; ", row.Lost)}");
            }

            if (row.BudgetProblem is { } budget)
            {
                problems.Add($"{row.Name}: budget does not hold: {budget}");
            }

            if (row.Name != "total" && row.RecoverySeconds is not (<= RecoveryBound))
            {
                problems.Add($"{row.Name}: {(row.RecoverySeconds is { } s ? $"recovered {s:F1} s" : "never recovered")} after the fault ended (bound {RecoveryBound:F0} s)");
            }

            if (row.Name != "total" && row.PostgresErrors is > 0)
            {
                problems.Add($"{row.Name}: {row.PostgresErrors} failed answers (5xx, none, or a cut stream) to warm tenants while PostgreSQL was away");
            }
        }

        foreach (var window in windows.Where(w => w.Readiness.Any(r => !r.StartsWith("200 ", StringComparison.Ordinal))))
        {
            problems.Add($"{window.Name}: /readyz was not 200 (degraded) while PostgreSQL was away: {string.Join(", ", window.Readiness.Where(r => !r.StartsWith("200 ", StringComparison.Ordinal)).Distinct())}");
        }

        return new DrillReport(rows, problems, definitions);
    }

    /// <summary>The table (Markdown), the definitions, notes and the verdict.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        text.AppendLine("| fault | requests | answers by status | longest failure run | time to recover | max requests per key in any 60 s (limit) | nothing lost | budgets hold | errors while PostgreSQL away (warm tenants) |");
        text.AppendLine("| --- | ---: | --- | --- | ---: | --- | --- | --- | ---: |");
        foreach (var row in Rows)
        {
            var answers = string.Join(" ", row.Answers.Select(a => $"{a.Label}:{a.Count}"));
            var run = row.LongestFailureRun.Count == 0 ? "0" : $"{row.LongestFailureRun.Count} ({row.LongestFailureRun.Seconds:F1} s)";
            var recovery = row.RecoverySeconds is { } s ? $"{s:F1} s" : "never";
            var key = $"{row.WorstKey.Count} ({row.WorstKey.Limit}) {row.WorstKey.Key}" + (row.OverLimit.Count > 0 ? " OVER" : "");
            var lost = row.Lost.Count == 0 ? "yes" : $"no: {string.Join("; ", row.Lost)}";
            var budget = row.BudgetProblem is null ? "yes" : $"no: {row.BudgetProblem}";
            var pg = row.PostgresErrors?.ToString(CultureInfo.InvariantCulture) ?? "-";
            text.AppendLine(CultureInfo.InvariantCulture, $"| {row.Name} | {row.Sent} | {answers} | {run} | {recovery} | {key} | {lost} | {budget} | {pg} |");
        }

        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Recovered: from a fault's end, the first request that begins a run of {Recovery.SteadyRun} successes in a row (send order, all lanes);");
        text.AppendLine("a success is a complete 200 (JSON with content; a stream with content and [DONE]) or the 429 its lane expects.");
        text.AppendLine("A fault ends:");
        foreach (var (name, ends) in Definitions)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {name}: {ends}");
        }

        foreach (var row in Rows.Where(r => r.Notes.Count > 0))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"Note, {row.Name}: {string.Join("; ", row.Notes)}");
        }

        text.AppendLine();
        text.AppendLine(Problems.Count == 0 ? "PASS: every criterion holds." : "FAIL:\n  " + string.Join("\n  ", Problems));
        return text.ToString();
    }

    private static FaultRow Row(
        string name, IReadOnlyList<Outcome> mine, double? recovery, long from, long to, FakeOpenAiServer upstream, DrillSetup setup,
        IReadOnlyList<string> lost, string? budget, int? postgresErrors, IReadOnlyList<string> notes)
    {
        var window = TimeSpan.FromSeconds(60);
        var keys = setup.AllKeys.Select(k => (Key: $"{k.Tenant} {k.Mask}", Count: upstream.MaxRequestsInAnyWindow(k.Secret, window, from, to), Limit: k.MaxRpm)).ToList();
        var worst = keys.OrderByDescending(k => (double)k.Count / k.Limit).First();
        var answers = mine.GroupBy(o => o.Label).Select(g => (g.Key, g.Count())).OrderByDescending(a => a.Item2).ToList();
        return new FaultRow(name, mine.Count, answers, mine.Count(o => o.Failed), Recovery.LongestFailureRun(mine), recovery, worst,
            [.. keys.Where(k => k.Count > k.Limit).Select(k => $"{k.Key} {k.Count} > {k.Limit} ({Tightest(upstream, setup, k.Key, from, to)})")], lost, budget, postgresErrors,
            [.. notes, .. name == "total" ? [] : Failures(mine)]);
    }

    // Over a limit by a hair (limit + 1 arrivals spanning 59.9 s) is a window edge between Roxy's clock and the
    // upstream's; by much (a second window's worth in seconds) is a window lost. The span tells which.
    private static string Tightest(FakeOpenAiServer upstream, DrillSetup setup, string label, long from, long to)
    {
        var key = setup.AllKeys.First(k => $"{k.Tenant} {k.Mask}" == label);
        var origin = System.Diagnostics.Stopwatch.GetTimestamp();
        var now = DateTimeOffset.UtcNow;
        // Recorded arrivals carry wall-clock times; the row's bounds are timestamps: convert the bounds.
        DateTimeOffset At(long timestamp) => timestamp is long.MinValue or long.MaxValue
            ? (timestamp == long.MinValue ? DateTimeOffset.MinValue : DateTimeOffset.MaxValue)
            : now - System.Diagnostics.Stopwatch.GetElapsedTime(timestamp, origin);
        var (start, end) = (At(from), At(to));
        var arrivals = upstream.Requests.Where(r => r.ApiKey == key.Secret && r.ArrivedAt >= start && r.ArrivedAt <= end).Select(r => r.ArrivedAt).Order().ToList();
        var tightest = Enumerable.Range(0, Math.Max(0, arrivals.Count - key.MaxRpm)).Select(i => (arrivals[i + key.MaxRpm] - arrivals[i]).TotalSeconds).DefaultIfEmpty(double.NaN).Min();
        return string.Create(CultureInfo.InvariantCulture, $"{key.MaxRpm + 1} arrivals within {tightest:F2} s");
    }

    private static IEnumerable<string> Failures(IReadOnlyList<Outcome> mine)
    {
        var failed = mine.Where(o => o.Failed).GroupBy(o => (o.Lane, o.Label)).Select(g => $"{g.Key.Lane} {g.Key.Label} ×{g.Count()}").ToList();
        return failed.Count == 0 ? [] : ["failures: " + string.Join(", ", failed)];
    }

    // Spend recomputed from the usage of every answered budget-lane request sent before `until`. One request at a time,
    // so the budget may be passed by at most the last admitted request's cost (its reservation is settled to reality).
    private static string? BudgetProblem(IReadOnlyList<Outcome> outcomes, double until, string? setting)
    {
        var answered = outcomes.Where(o => o.Lane == "budget" && o.SentAt < until && o.Status == 200).ToList();
        var spent = answered.Sum(o => o.CostUsd);
        var largest = answered.Count == 0 ? 0 : answered.Max(o => o.CostUsd);
        var problems = new List<string>();
        if (spent > DrillSetup.BudgetUsd + largest)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"spent ${spent:0.000000} in {answered.Count} answers > budget ${DrillSetup.BudgetUsd} + one answer's ${largest:0.000000}"));
        }

        if (setting is not null)
        {
            problems.Add(setting);
        }

        return problems.Count == 0 ? null : string.Join("; ", problems);
    }
}
