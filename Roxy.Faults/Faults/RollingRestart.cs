namespace Roxy.Faults.Faults;

/// <summary>
/// A graceful rolling restart: silo1 is stopped (SIGTERM: it leaves the cluster and its grains deactivate, snapshotting
/// their windows) and started again, then silo2. Each restart ends when cluster.sh restart returns (the silo is back
/// and both frontends are ready); the next silo waits until the cluster has recovered or 20 s passed.
/// </summary>
public sealed class RollingRestart : IFault
{
    public string Name => "2. rolling restart of both silos";

    public string Ends => "when each silo's restart completes (cluster.sh restart NAME returned: stopped by SIGTERM, started, both frontends ready)";

    public async Task RunAsync(FaultContext context, FaultWindow window)
    {
        foreach (var silo in new[] { "silo1", "silo2" })
        {
            context.Log($"graceful restart of {silo}");
            await context.Cluster.RestartAsync(silo);
            var back = context.Clock.Now;
            window.Ends.Add(back);
            context.Log($"{silo} is back");
            await context.WaitRecoveredAsync(back, TimeSpan.FromSeconds(20));
        }
    }
}
