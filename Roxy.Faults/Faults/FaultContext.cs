using Roxy.FakeUpstream;

namespace Roxy.Faults.Faults;

/// <summary>What a fault acts on and watches: the cluster, the fake upstream, the traffic and the drill's clock.</summary>
public sealed class FaultContext(DrillOptions options, ClusterControl cluster, FakeOpenAiServer upstream, TrafficDriver traffic, RoxyClient client, DrillClock clock, TextWriter log)
{
    public DrillOptions Options { get; } = options;

    public ClusterControl Cluster { get; } = cluster;

    public FakeOpenAiServer Upstream { get; } = upstream;

    public TrafficDriver Traffic { get; } = traffic;

    public RoxyClient Client { get; } = client;

    public DrillClock Clock { get; } = clock;

    public void Log(string line) => log.WriteLine($"[{Clock.Now,6:F1} s] {line}");

    /// <summary>
    /// Waits until the answers so far show recovery after <paramref name="end"/> (<see cref="Recovery"/>), or at most
    /// <paramref name="max"/>: the next step of a fault does not begin while the cluster is still recovering from the last.
    /// </summary>
    public async Task WaitRecoveredAsync(double end, TimeSpan max)
    {
        var deadline = Clock.Now + max.TotalSeconds;
        while (Clock.Now < deadline)
        {
            if (Recovery.After(Traffic.CompleteSnapshot(), end) is { } seconds)
            {
                Log($"recovered {seconds:F1} s after the end");
                return;
            }

            await Task.Delay(500);
        }

        Log($"not recovered after {max.TotalSeconds:F0} s; going on");
    }
}
