namespace Roxy.Faults.Faults;

/// <summary>
/// SIGKILL of silo2 mid-traffic (no goodbye: the survivor learns of it only from missed probes), then a restart. The
/// fault ends at the kill itself (the silo is gone at once; what follows is Roxy's recovery) and again when the
/// restarted silo's gateway accepts connections. The restart waits until the cluster has recovered or 30 s passed,
/// so the time to recover from the kill is Roxy's own, not the restart's doing.
/// </summary>
public sealed class SiloKill : IFault
{
    public string Name => "1. SIGKILL silo2, then restart";

    public string Ends => "at the SIGKILL, and again when the restarted silo2's gateway accepts connections (cluster.sh start returned)";

    public async Task RunAsync(FaultContext context, FaultWindow window)
    {
        context.Log("SIGKILL silo2");
        await context.Cluster.KillAsync("silo2");
        var killed = context.Clock.Now;
        window.Ends.Add(killed);
        await context.WaitRecoveredAsync(killed, TimeSpan.FromSeconds(30));

        context.Log("starting silo2 again");
        await context.Cluster.StartAsync();
        window.Ends.Add(context.Clock.Now);
        context.Log("silo2 is back");
    }
}
