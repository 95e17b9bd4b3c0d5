using Roxy.FakeUpstream;

namespace Roxy.Faults.Faults;

/// <summary>
/// The whole upstream misbehaves, one way at a time, for 8 s each: it hangs (never answers), it resets connections
/// mid-answer (streams after the first content chunk, JSON after a few bytes), it answers 200 with garbage. Clients
/// get errors meanwhile (no healthy upstream is left to fail over to); each misbehaviour ends when the fake answers
/// normally again, and the next waits until the cluster has recovered or 15 s passed.
/// </summary>
public sealed class UpstreamMisbehaves : IFault
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(8);

    public string Name => "5. upstream hangs / resets / garbage";

    public string Ends => "when the fake upstream answers normally again, after each of the three 8 s misbehaviours";

    public async Task RunAsync(FaultContext context, FaultWindow window)
    {
        foreach (var (what, behaviour) in new[] { ("hangs", FakeResponse.Hang()), ("resets mid-answer", FakeResponse.ResetMidAnswer()), ("answers garbage", FakeResponse.GarbageAnswer()) })
        {
            context.Log($"upstream {what} for {Duration.TotalSeconds:F0} s");
            context.Upstream.SetFault(behaviour);
            await Task.Delay(Duration);
            context.Upstream.SetFault(null);
            var healthy = context.Clock.Now;
            window.Ends.Add(healthy);
            context.Log("upstream healthy again");
            await context.WaitRecoveredAsync(healthy, TimeSpan.FromSeconds(15));
        }
    }
}
