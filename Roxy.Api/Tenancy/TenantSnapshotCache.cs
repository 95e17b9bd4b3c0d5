using System.Collections.Concurrent;
using Roxy.Grains;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Tenancy;

/// <summary>
/// Each frontend's copy of its tenants' snapshots: served from memory, refreshed in the background when older
/// than <see cref="MaxAge"/>, and dropped at once when this frontend itself changed the tenant.
/// </summary>
public sealed class TenantSnapshotCache(IGrainFactory grains, TimeProvider time, ILogger<TenantSnapshotCache> logger)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(2);
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public async ValueTask<TenantSnapshot> GetAsync(string tenantId)
    {
        var now = time.GetTimestamp();
        if (_entries.TryGetValue(tenantId, out var entry))
        {
            if (time.GetElapsedTime(entry.FetchedAt, now) > MaxAge && entry.TryStartRefresh())
            {
                _ = RefreshAsync(tenantId, entry);
            }

            return entry.Snapshot;
        }

        var snapshot = await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId)).GetSnapshotAsync();
        _entries[tenantId] = new Entry(snapshot, now);
        return snapshot;
    }

    public void Invalidate(string tenantId) => _entries.TryRemove(tenantId, out _);

    private async Task RefreshAsync(string tenantId, Entry stale)
    {
        try
        {
            var snapshot = await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId)).GetSnapshotAsync();
            _entries[tenantId] = new Entry(snapshot, time.GetTimestamp());
        }
        catch (Exception ex)
        {
            stale.RefreshFailed();
            logger.LogWarning(ex, "Could not refresh tenant {Tenant}; serving the previous snapshot", tenantId);
        }
    }

    private sealed class Entry(TenantSnapshot snapshot, long fetchedAt)
    {
        private int _refreshing;

        public TenantSnapshot Snapshot { get; } = snapshot;
        public long FetchedAt { get; } = fetchedAt;

        public bool TryStartRefresh() => Interlocked.Exchange(ref _refreshing, 1) == 0;

        public void RefreshFailed() => Volatile.Write(ref _refreshing, 0);
    }
}
