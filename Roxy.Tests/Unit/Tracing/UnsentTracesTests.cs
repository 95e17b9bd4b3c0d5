using Roxy.Api.Tracing;
using Roxy.Grains.Tracing;

namespace Roxy.Tests.Unit.Tracing;

public class UnsentTracesTests
{
    [Fact]
    public void A_full_queue_drops_the_oldest_and_counts_them()
    {
        var traces = new UnsentTraces(capacity: 3);
        for (var i = 1; i <= 5; i++)
        {
            traces.Enqueue(Trace("acme", $"req_{i}"));
        }

        Assert.Equal(3, traces.Count);
        Assert.Equal(2, traces.Dropped);
        var taken = new List<RequestTrace>();
        Assert.Equal(3, traces.TakeInto(taken, max: 10));
        Assert.Equal(["req_3", "req_4", "req_5"], taken.Select(t => t.RequestId));
        Assert.Equal(0, traces.Count);
    }

    [Fact]
    public void Taking_stops_at_the_limit_and_keeps_the_rest_in_order()
    {
        var traces = new UnsentTraces();
        for (var i = 1; i <= 4; i++)
        {
            traces.Enqueue(Trace("acme", $"req_{i}"));
        }

        var taken = new List<RequestTrace>();
        Assert.Equal(3, traces.TakeInto(taken, max: 3));
        Assert.Equal(1, traces.Count);
        Assert.Equal(0, traces.Dropped);
        taken.Clear();
        traces.TakeInto(taken, max: 3);
        Assert.Equal("req_4", Assert.Single(taken).RequestId);
    }

    [Fact]
    public void A_queued_trace_is_found_only_in_its_own_tenant()
    {
        var traces = new UnsentTraces();
        traces.Enqueue(Trace("acme", "req_1"));
        traces.Enqueue(Trace("globex", "req_2"));

        Assert.Equal("acme", traces.Find("acme", "req_1")!.TenantId);
        Assert.Null(traces.Find("globex", "req_1"));
        Assert.Null(traces.Find("acme", "req_2"));
    }

    internal static RequestTrace Trace(string tenant, string id, IReadOnlyList<TraceStep>? steps = null) => new(
        id, tenant, "t-1", new DateTimeOffset(2026, 1, 15, 9, 30, 0, TimeSpan.Zero), "openai-chat", "smart", "smart", false, 200, null, "miss",
        "openai", "gpt-4o-mini", "k-2", 12, 40, 0, 0.0001m, 0m, 430, 425, 0, steps ?? [], "host/abcd");
}
