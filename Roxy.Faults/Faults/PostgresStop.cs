using System.Globalization;
using System.Text.Json.Nodes;

namespace Roxy.Faults.Faults;

/// <summary>
/// PostgreSQL stopped (pg_ctl stop -m fast: connections cut) for <see cref="DrillOptions.PostgresOutage"/>, then started.
/// PostgreSQL counts as away from the stop command until it accepts connections again; the fault ends then. Meanwhile
/// both frontends' /readyz are read every second (SPEC §4: degraded, not unready).
/// </summary>
public sealed class PostgresStop : IFault
{
    public string Name => "3. PostgreSQL stopped";

    public string Ends => "when PostgreSQL accepts connections again (cluster.sh pg-start returned)";

    public async Task RunAsync(FaultContext context, FaultWindow window)
    {
        var from = context.Clock.Now;
        context.Log($"stopping PostgreSQL for {context.Options.PostgresOutage.TotalSeconds:F0} s");
        await context.Cluster.StopPostgresAsync();
        var until = from + context.Options.PostgresOutage.TotalSeconds;
        while (context.Clock.Now < until)
        {
            foreach (var frontend in new[] { 1, 2 })
            {
                var (status, text, _) = await context.Client.SendAsync(HttpMethod.Get, context.Cluster.Api(frontend), "readyz", "");
                window.Readiness.Add(string.Create(CultureInfo.InvariantCulture, $"{(int)status} {ReadyStatus(text)}"));
            }

            await Task.Delay(TimeSpan.FromSeconds(Math.Min(1, Math.Max(0, until - context.Clock.Now))));
        }

        context.Log("starting PostgreSQL");
        await context.Cluster.StartPostgresAsync();
        var back = context.Clock.Now;
        window.PostgresAway = (from, back);
        window.Ends.Add(back);
        context.Log("PostgreSQL is back");
    }

    private static string ReadyStatus(string text)
    {
        try
        {
            return JsonNode.Parse(text)?["status"]?.GetValue<string>() ?? "?";
        }
        catch (System.Text.Json.JsonException)
        {
            return "no-json";
        }
    }
}
