namespace Roxy.Grains.Tracing;

/// <summary>
/// A tenant's newest traces in memory: a queue (a growable ring) in arrival order and a dictionary by request id, so an
/// append and a lookup are O(1) and memory is bounded by <c>capacity</c> traces. It grows with the traffic it sees, so
/// a quiet tenant does not hold room for 10,000; the silo's <see cref="TraceMemory"/> may hold it to less.
/// </summary>
internal sealed class TraceRing(int capacity)
{
    private readonly Queue<RequestTrace> _order = new();
    private readonly Dictionary<string, RequestTrace> _byId = new(StringComparer.Ordinal);

    public int Capacity { get; } = Math.Max(1, capacity);

    public int Count => _order.Count;

    /// <summary>Appends <paramref name="trace"/>, evicting the oldest beyond <paramref name="limit"/> (at most <see cref="Capacity"/>).</summary>
    public void Add(RequestTrace trace, int limit)
    {
        limit = Math.Clamp(limit, 1, Capacity);
        while (_order.Count >= limit)
        {
            var oldest = _order.Dequeue();
            // A request id recorded twice points at its newer trace; evicting the older one must not drop that.
            if (_byId.TryGetValue(oldest.RequestId, out var current) && ReferenceEquals(current, oldest))
            {
                _byId.Remove(oldest.RequestId);
            }
        }

        _order.Enqueue(trace);
        _byId[trace.RequestId] = trace;
    }

    public RequestTrace? Find(string requestId) => _byId.GetValueOrDefault(requestId);

    public void Clear()
    {
        _order.Clear();
        _byId.Clear();
    }
}
