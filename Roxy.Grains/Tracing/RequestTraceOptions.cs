namespace Roxy.Grains.Tracing;

/// <summary>How a silo keeps request traces: each tenant's memory ring, its batched writes and the table's retention.</summary>
public sealed class RequestTraceOptions
{
    /// <summary>SPEC §9: at least the last 10,000 requests per tenant.</summary>
    public const int DefaultCapacity = 10_000;

    /// <summary>Traces a tenant's grain keeps in memory at most (see <see cref="MemoryTraces"/>), and the newest rows its table keeps (at least).</summary>
    public int Capacity { get; set; } = DefaultCapacity;

    /// <summary>
    /// Traces the silo keeps in memory across all its tenants (<see cref="TraceMemory"/>): each active tenant's grain
    /// holds an equal share of it, at least <see cref="TraceMemory.MinShare"/>, at most <see cref="Capacity"/>. About
    /// 1 KiB each.
    /// </summary>
    public int MemoryTraces { get; set; } = DefaultMemoryTraces;

    public const int DefaultMemoryTraces = 100_000;

    /// <summary>How often a grain inserts the traces it received since its last write.</summary>
    public TimeSpan WritePeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Rows per insert round trip.</summary>
    public int WriteBatchRows { get; set; } = 1000;

    /// <summary>
    /// Rows a busy grain inserts between two prunes of its tenant's table (it also prunes at its first quiet tick): the
    /// table holds up to this many (plus one write) beyond <see cref="Capacity"/>, and a busy tenant pays one prune per
    /// this many requests, not one per write.
    /// </summary>
    public int PruneEvery { get; set; } = 1000;

    /// <summary>Traces older than this are not answered and are pruned from the table (null: kept while among the newest).</summary>
    public TimeSpan? MaxAge { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The deadline of the one PostgreSQL read a lookup memory cannot answer makes.</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
