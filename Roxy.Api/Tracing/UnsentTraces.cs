using System.Collections.Concurrent;
using Roxy.Grains.Tracing;

namespace Roxy.Api.Tracing;

/// <summary>
/// The finished traces this frontend has not sent yet. Lock-free and bounded: when the cluster cannot take them (it is
/// unreachable, or slower than the traffic), the oldest are dropped and counted, and a request never waits for room.
/// </summary>
public sealed class UnsentTraces(int capacity = UnsentTraces.DefaultCapacity)
{
    /// <summary>About 20 s of traffic at 1,000 requests/s: a cluster outage longer than that loses the oldest traces.</summary>
    public const int DefaultCapacity = 20_000;

    private readonly ConcurrentQueue<RequestTrace> _queue = new();
    private int _count;
    private long _dropped;

    public int Capacity { get; } = capacity;

    /// <summary>Traces dropped since start because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Count => Volatile.Read(ref _count);

    public void Enqueue(RequestTrace trace)
    {
        _queue.Enqueue(trace);
        if (Interlocked.Increment(ref _count) > Capacity && _queue.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _count);
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Takes up to <paramref name="max"/> traces, oldest first, into <paramref name="into"/>.</summary>
    public int TakeInto(List<RequestTrace> into, int max)
    {
        var taken = 0;
        while (taken < max && _queue.TryDequeue(out var trace))
        {
            Interlocked.Decrement(ref _count);
            into.Add(trace);
            taken++;
        }

        return taken;
    }

    /// <summary>
    /// A trace still waiting here (the request ended less than a flush ago): so the frontend that served a request
    /// can explain it at once. A scan, but only for <c>#roxy why</c> and the admin route, never on the request path.
    /// </summary>
    public RequestTrace? Find(string tenantId, string requestId)
    {
        foreach (var trace in _queue)
        {
            if (string.Equals(trace.RequestId, requestId, StringComparison.Ordinal) && string.Equals(trace.TenantId, tenantId, StringComparison.Ordinal))
            {
                return trace;
            }
        }

        return null;
    }

    /// <summary>A trace still waiting here, of whichever tenant: for the operator, who may look in every tenant.</summary>
    public RequestTrace? FindInAnyTenant(string requestId)
    {
        foreach (var trace in _queue)
        {
            if (string.Equals(trace.RequestId, requestId, StringComparison.Ordinal))
            {
                return trace;
            }
        }

        return null;
    }
}
