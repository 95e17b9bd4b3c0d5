using Roxy.Faults;
using Xunit.Abstractions;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The short fault drill (CI's version of scripts/faults.sh --short), in-process through the same code: the cluster from
/// scripts/cluster.sh with the built dlls, steady traffic through both frontends, one silo SIGKILLed and restarted,
/// PostgreSQL stopped for 10 s. Every criterion of the drill's table is asserted on its own, with the table in the message.
/// </summary>
public sealed class FaultDrillTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_short_fault_drill_loses_nothing_keeps_every_key_and_budget_within_its_limit_and_recovers_within_ten_seconds()
    {
        var log = new StringWriter();
        var report = await Drill.RunAsync(DrillOptions.FromBaseDirectory(AppContext.BaseDirectory, isShort: true), log);
        var table = report.Render();
        output.WriteLine(log.ToString());
        output.WriteLine(table);

        Assert.Equal(["1. SIGKILL silo2, then restart", "3. PostgreSQL stopped", "total"], report.Rows.Select(r => r.Name));
        Assert.All(report.Rows, row =>
        {
            // Traffic really flowed and the tight keys really were limited (their lanes ask for more than the key allows).
            Assert.True(row.Answers.Any(a => a.Label == "200") && row.Answers.Any(a => a.Label == "429"), $"{row.Name}: answers {string.Join(' ', row.Answers)}\n{table}");
            Assert.True(row.OverLimit.Count == 0, $"{row.Name}: keys over their limit: {string.Join(", ", row.OverLimit)}\n{table}");
            Assert.True(row.Lost.Count == 0, $"{row.Name}: lost: {string.Join("; ", row.Lost)}\n{table}");
            Assert.True(row.BudgetProblem is null, $"{row.Name}: budget: {row.BudgetProblem}\n{table}");
            Assert.True(row.RecoverySeconds is <= DrillReport.RecoveryBound, $"{row.Name}: recovery {row.RecoverySeconds?.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) ?? "never"}\n{table}");
        });

        var postgres = report.Rows[1];
        Assert.True(postgres.PostgresErrors == 0, $"5xx or no answer for warm tenants while PostgreSQL was away: {postgres.PostgresErrors}\n{table}");
        Assert.True(postgres.Notes.Any(n => n.Contains("200 degraded", StringComparison.Ordinal)), $"/readyz during the outage: {string.Join("; ", postgres.Notes)}\n{table}");
        Assert.True(report.Problems.Count == 0, string.Join("\n", report.Problems) + "\n" + table);
    }
}
