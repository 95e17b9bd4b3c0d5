using Roxy.FakeUpstream;
using Roxy.Faults.Faults;

namespace Roxy.Faults;

/// <summary>
/// The fault drill (issue 13): a cluster from scripts/cluster.sh in front of an in-process fake upstream, steady
/// traffic through both frontends, seeded keys, rules, a token, cache entries and a budget, then the faults one at a
/// time, each followed by a settle period and a check that nothing was lost. Used by Program (scripts/faults.sh) and
/// by Roxy.Tests' FaultDrillTests (the short drill), so both run the same code.
/// </summary>
public static class Drill
{
    /// <summary>The faults in the issue's order; the short drill (CI) runs the silo kill and the PostgreSQL stop only.</summary>
    public static IReadOnlyList<IFault> Faults(bool isShort) => isShort
        ? [new SiloKill(), new PostgresStop()]
        : [new SiloKill(), new RollingRestart(), new PostgresStop(), new FrontendKill(), new UpstreamMisbehaves()];

    public static async Task<DrillReport> RunAsync(DrillOptions options, TextWriter log)
    {
        var clock = new DrillClock();
        var work = Directory.CreateTempSubdirectory("roxy-faults-");
        // PostgreSQL runs as user postgres and must reach its data directory inside.
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the fault drill runs scripts/cluster.sh: Linux only");
        }

        File.SetUnixFileMode(work.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        await using var upstream = await FakeOpenAiServer.StartAsync();
        var setup = new DrillSetup();
        setup.Prepare(upstream);
        var configPath = Path.Combine(work.FullName, "config.yaml");
        await File.WriteAllTextAsync(configPath, setup.ConfigYaml(upstream.BaseUrl));
        var cluster = new ClusterControl(options, work.FullName, configPath, setup.Environment());
        using var client = new RoxyClient(clock);
        using var traffic = new TrafficDriver(client, cluster.Api);
        var trafficStarted = false;
        void Log(string line) => log.WriteLine($"[{clock.Now,6:F1} s] {line}");
        try
        {
            Log($"starting the cluster ({(options.Short ? "short drill" : "full drill")}, {options.Configuration} build, in {work.FullName})");
            await cluster.StartAsync();
            Log("cluster ready; seeding keys, rules, a token, cache entries and a budget");
            var inventory = new Inventory(setup, client, cluster.Api);
            await inventory.SeedAsync();
            if (await inventory.VerifyAsync() is { Count: > 0 } missing)
            {
                throw new InvalidOperationException("seeded items are missing before any fault: " + string.Join("; ", missing));
            }

            foreach (var lane in setup.Lanes(inventory.IssuedToken))
            {
                traffic.Start(lane);
            }

            trafficStarted = true;
            Log($"traffic running; warming up {options.WarmUp.TotalSeconds:F0} s");
            await Task.Delay(options.WarmUp);

            var context = new FaultContext(options, cluster, upstream, traffic, client, clock, log);
            var windows = new List<FaultWindow>();
            var faults = Faults(options.Short);
            foreach (var fault in faults)
            {
                var window = new FaultWindow(fault.Name) { Start = clock.Now };
                Log("fault " + fault.Name);
                await fault.RunAsync(context, window);
                await Task.Delay(options.Settle);
                window.Stop = clock.Now;
                window.Lost = await inventory.VerifyAsync();
                window.BudgetSetting = await inventory.BudgetSettingProblemAsync();
                Log($"after {fault.Name}: {(window.Lost.Count == 0 ? "nothing lost" : "LOST " + string.Join("; ", window.Lost))}");
                windows.Add(window);
            }

            Log("stopping traffic");
            await traffic.StopAsync();
            trafficStarted = false;
            var finalLost = await inventory.VerifyAsync();
            var finalBudget = await inventory.BudgetSettingProblemAsync();
            var report = DrillReport.Build(windows, [.. faults.Select(f => (f.Name, f.Ends))], traffic.Snapshot(), upstream, setup, clock, finalLost, finalBudget);
            Log("done");
            return report;
        }
        catch (Exception)
        {
            log.WriteLine(cluster.Logs(40));
            throw;
        }
        finally
        {
            if (trafficStarted)
            {
                await traffic.StopAsync();
            }

            var stopped = await cluster.StopAsync();
            if (stopped.Exit != 0)
            {
                log.WriteLine(stopped.Output);
            }

            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp directory left behind is harmless.
            }
        }
    }
}
