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
            ring.Add(Trace(id), int.MaxValue);
        }

        Assert.Equal(3, ring.Count);
        Assert.Null(ring.Find("a"));
        Assert.Equal(["b", "c", "d"], new[] { "b", "c", "d" }.Select(id => ring.Find(id)!.RequestId));
    }

    [Fact]
    public void A_request_id_recorded_again_answers_its_newer_trace_until_that_one_is_evicted()
    {
        var ring = new TraceRing(2);
        ring.Add(Trace("a", 500), 2);
        ring.Add(Trace("a", 200), 2);
        Assert.Equal(200, ring.Find("a")!.Status);

        // Evicting the older "a" keeps the newer one.
        ring.Add(Trace("b"), 2);
        Assert.Equal(200, ring.Find("a")!.Status);

        ring.Add(Trace("c"), 2);
        Assert.Null(ring.Find("a"));
        Assert.NotNull(ring.Find("b"));
        Assert.NotNull(ring.Find("c"));
    }

    [Fact]
    public void A_silo_of_many_tenants_holds_its_trace_budget_not_each_tenants_cap()
    {
        // 1,000 tenants' grains on one silo with a budget of 100,000: each keeps its newest 100, not 10,000.
        var memory = new TraceMemory(100_000);
        var rings = Enumerable.Range(0, 1000).Select(_ => new TraceRing(10_000)).ToArray();
        foreach (var _ in rings)
        {
            memory.Join();
        }

        for (var i = 0; i < 500; i++)
        {
            foreach (var ring in rings)
            {
                ring.Add(Trace($"r{i}"), memory.Share(ring.Capacity));
            }
        }

        Assert.All(rings, r => Assert.Equal(100, r.Count));
        Assert.True(rings.Sum(r => r.Count) <= memory.Budget);
        Assert.Null(rings[0].Find("r399"));
        Assert.NotNull(rings[0].Find("r400"));
    }

    [Fact]
    public void A_share_never_falls_below_the_minimum_nor_rises_above_a_tenants_cap()
    {
        var memory = new TraceMemory(1000);
        memory.Join();
        Assert.Equal(1000, memory.Share(10_000));
        Assert.Equal(50, memory.Share(50));
        for (var i = 0; i < 99; i++)
        {
            memory.Join();
        }

        Assert.Equal(TraceMemory.MinShare, memory.Share(10_000));
        var ring = new TraceRing(10_000);
        for (var i = 0; i < 300; i++)
        {
            ring.Add(Trace($"r{i}"), memory.Share(ring.Capacity));
        }

        Assert.Equal(TraceMemory.MinShare, ring.Count);
    }
}
