namespace Roxy.Faults.Faults;

/// <summary>
/// SIGKILL of frontend api1 while streams are in flight through it, then a restart. The streams it carried are cut
/// and requests to it are refused until it is back (the drill has no load balancer in front: a client of api1 sees
/// that, and the report counts it); api2's clients should see nothing. The fault ends when api1 answers /readyz again.
/// </summary>
public sealed class FrontendKill : IFault
{
    public string Name => "4. SIGKILL api1 with streams in flight";

    public string Ends => "when the restarted api1 answers /readyz (cluster.sh start returned); until then its clients are refused";

    public async Task RunAsync(FaultContext context, FaultWindow window)
    {
        var deadline = context.Clock.Now + 10;
        while (context.Traffic.InFlight(1, stream: true) == 0 && context.Clock.Now < deadline)
        {
            await Task.Delay(20);
        }

        var streams = context.Traffic.InFlight(1, stream: true);
        context.Log($"SIGKILL api1 ({streams} streams in flight through it)");
        await context.Cluster.KillAsync("api1");
        window.Notes.Add($"{streams} streams in flight through api1 at the kill");
        await Task.Delay(TimeSpan.FromSeconds(2));
        context.Log("starting api1 again");
        await context.Cluster.StartAsync();
        window.Ends.Add(context.Clock.Now);
        context.Log("api1 is back");
    }
}
