namespace Roxy.Grains.Tracing;

/// <summary>
/// The silo's budget of request traces held in memory, shared by its tenants' trace grains: each may hold an equal share
/// (never less than <see cref="MinShare"/>, never more than a tenant's own cap), so a silo serving a thousand tenants
/// holds about as many traces as one serving ten, not a thousand times a tenant's cap. Older traces are still answered,
/// from the table.
/// </summary>
public sealed class TraceMemory(int budget)
{
    /// <summary>A busy silo still keeps at least this many of each active tenant's newest traces in memory.</summary>
    public const int MinShare = 100;

    private int _grains;

    public int Budget { get; } = Math.Max(1, budget);

    /// <summary>Trace grains active on this silo.</summary>
    public int Grains => Volatile.Read(ref _grains);

    public void Join() => Interlocked.Increment(ref _grains);

    public void Leave() => Interlocked.Decrement(ref _grains);

    /// <summary>How many traces one grain may hold now, given its tenant's own cap.</summary>
    public int Share(int tenantCap) => Math.Min(tenantCap, Math.Max(MinShare, Budget / Math.Max(1, Grains)));
}
