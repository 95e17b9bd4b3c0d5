namespace Roxy.Faults;

/// <summary>
/// "Recovered", precisely: after a fault ends, the first request sent that begins a steady run of
/// <see cref="SteadyRun"/> successes in a row (in the order requests were sent, all lanes and both frontends together).
/// The time to recover is that request's send time minus the fault's end; a fault whose first request after the end
/// already begins such a run recovered in the time to that request. A success is an outcome that is not
/// <see cref="Outcome.Failed"/>: a complete 200, or the 429 its lane expects.
/// </summary>
public static class Recovery
{
    public const int SteadyRun = 20;

    /// <summary>Seconds from <paramref name="end"/> to recovery, or null when no steady run followed it.</summary>
    public static double? After(IReadOnlyList<Outcome> bySendTime, double end)
    {
        var run = 0;
        var first = 0.0;
        foreach (var outcome in bySendTime)
        {
            if (outcome.SentAt < end)
            {
                continue;
            }

            if (outcome.Failed)
            {
                run = 0;
                continue;
            }

            if (run++ == 0)
            {
                first = outcome.SentAt;
            }

            if (run >= SteadyRun)
            {
                return first - end;
            }
        }

        return null;
    }

    /// <summary>The longest run of failures in send order: how many, and from the first's send to the last's.</summary>
    public static (int Count, double Seconds) LongestFailureRun(IEnumerable<Outcome> bySendTime)
    {
        (int Count, double Seconds) best = (0, 0);
        var count = 0;
        var from = 0.0;
        foreach (var outcome in bySendTime)
        {
            if (!outcome.Failed)
            {
                count = 0;
                continue;
            }

            if (count++ == 0)
            {
                from = outcome.SentAt;
            }

            if (count > best.Count)
            {
                best = (count, outcome.SentAt - from);
            }
        }

        return best;
    }
}
