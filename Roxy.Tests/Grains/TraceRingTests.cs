using Roxy.Grains.Tracing;

namespace Roxy.Tests.Grains;

/// <summary>The trace grain's memory: bounded, oldest out first, lookups by request id.</summary>
public sealed class TraceRingTests
{
    private static RequestTrace Trace(string id, int status = 200) => new(
        id, "t", null, DateTimeOffset.UnixEpoch, "openai", "m", null, false, status, null, "bypass", null, null, null,
        0, 0, 0, 0m, 0m, 1, 1, 0, [], "fe");

    [Fact]
    public void Past_capacity_the_oldest_goes_first()
    {
        var ring = new TraceRing(3);
        foreach (var id in new[] { "a", "b", "c", "d" })
        {
            ring.Add(Trace(id));
        }

        Assert.Equal(3, ring.Count);
        Assert.Null(ring.Find("a"));
        Assert.Equal(["b", "c", "d"], new[] { "b", "c", "d" }.Select(id => ring.Find(id)!.RequestId));
    }

    [Fact]
    public void A_request_id_recorded_again_answers_its_newer_trace_until_that_one_is_evicted()
    {
        var ring = new TraceRing(2);
        ring.Add(Trace("a", 500));
        ring.Add(Trace("a", 200));
        Assert.Equal(200, ring.Find("a")!.Status);

        // Evicting the older "a" keeps the newer one.
        ring.Add(Trace("b"));
        Assert.Equal(200, ring.Find("a")!.Status);

        ring.Add(Trace("c"));
        Assert.Null(ring.Find("a"));
        Assert.NotNull(ring.Find("b"));
        Assert.NotNull(ring.Find("c"));
    }
}
