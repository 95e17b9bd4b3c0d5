using System.Collections.Concurrent;
using Roxy.Grains;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Proxy;

/// <summary>
/// This frontend's channels to rotation grains, one per (tenant, provider). A channel holds the grain reference
/// (building one resolves the interface type by name, which costs more than the call) and the usage reports of
/// successful requests, which ride along with the next acquire instead of costing a call each.
/// </summary>
public sealed class RotationGrains(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<(string Tenant, string Provider), RotationChannel> _channels = new();

    public RotationChannel Get(string tenantId, string provider) =>
        _channels.GetOrAdd((tenantId, provider), static (key, factory) =>
            new RotationChannel(factory.GetGrain<IRotationGrain>(GrainKeys.Rotation(key.Tenant, key.Provider))), grains);

    public IEnumerable<RotationChannel> All => _channels.Values;
}

public sealed class RotationChannel(IRotationGrain grain)
{
    private readonly ConcurrentQueue<UsageReport> _pending = new();
    private long _oldestPendingAt;

    public IRotationGrain Grain { get; } = grain;

    public async ValueTask<KeyLease> AcquireAsync(int estimatedTokens, IReadOnlyList<string>? excluded)
    {
        var reports = Drain();
        try
        {
            return await Grain.AcquireAsync(new AcquireRequest(estimatedTokens, excluded, reports));
        }
        catch when (reports is not null)
        {
            // The call did not land: keep the corrections for the next acquire or the flush.
            Requeue(reports);
            throw;
        }
    }

    /// <summary>A success only corrects token counts: it can wait for the next acquire (or the flush timer).</summary>
    public void Defer(UsageReport report, long timestamp)
    {
        Interlocked.CompareExchange(ref _oldestPendingAt, timestamp, 0);
        _pending.Enqueue(report);
    }

    /// <summary>Failures change which keys may be used: they go at once.</summary>
    public ValueTask ReportNowAsync(UsageReport report) => Grain.ReportAsync(report);

    /// <summary>Sends what waited longer than <paramref name="maxAge"/>; called by <see cref="UsageFlusher"/>.</summary>
    public async ValueTask FlushAsync(long now, long maxAgeTicks, bool force)
    {
        var oldest = Interlocked.Read(ref _oldestPendingAt);
        if (_pending.IsEmpty || (!force && oldest != 0 && now - oldest < maxAgeTicks))
        {
            return;
        }

        if (Drain() is { } reports)
        {
            try
            {
                await Grain.ReportManyAsync(reports);
            }
            catch
            {
                Requeue(reports);
                throw;
            }
        }
    }

    private void Requeue(UsageReport[] reports)
    {
        foreach (var report in reports)
        {
            _pending.Enqueue(report);
        }

        Interlocked.CompareExchange(ref _oldestPendingAt, 1, 0);
    }

    private UsageReport[]? Drain()
    {
        if (_pending.IsEmpty)
        {
            return null;
        }

        Interlocked.Exchange(ref _oldestPendingAt, 0);
        var reports = new List<UsageReport>();
        while (_pending.TryDequeue(out var report))
        {
            reports.Add(report);
        }

        return reports.Count == 0 ? null : reports.ToArray();
    }
}
