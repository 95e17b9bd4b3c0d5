using System.Collections.Concurrent;
using Roxy.Api.Routing;
using Roxy.Grains;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Tenancy;

/// <summary>
/// Each frontend's copy of its tenants' snapshots, served from memory. <see cref="TenantRefresher"/> polls each cached
/// tenant's version every <see cref="TenantRefresher.Interval"/> and fetches the snapshot again when it moved, so a change
/// made on another frontend is used here within a second; this frontend's own changes are fetched at once
/// (<see cref="ReloadAsync"/>). A fetched snapshot is served only after the rules this frontend holds that it changed
/// were read again (<see cref="RuleCache.SyncAsync"/>).
/// </summary>
public sealed class TenantSnapshotCache(IGrainFactory grains, RuleCache rules, ILogger<TenantSnapshotCache> logger)
{
    private readonly ConcurrentDictionary<string, TenantSnapshot> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _failing = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _refreshing = new(StringComparer.Ordinal);

    public ValueTask<TenantSnapshot> GetAsync(string tenantId) =>
        _entries.TryGetValue(tenantId, out var snapshot) ? ValueTask.FromResult(snapshot) : new ValueTask<TenantSnapshot>(FetchAsync(tenantId));

    /// <summary>After this frontend changed the tenant: the next request sees the change.</summary>
    public async Task ReloadAsync(string tenantId)
    {
        try
        {
            await FetchAsync(tenantId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Dropped instead: the next request fetches it.
            _entries.TryRemove(tenantId, out _);
            logger.LogWarning(ex, "Could not reload tenant {Tenant} after a change; it is fetched on its next request", tenantId);
        }
    }

    /// <summary>One poll: every cached tenant whose version moved is fetched again.</summary>
    /// <remarks>
    /// A tenant whose refresh is still running (a grain on a dying silo can take the whole call timeout) is left to
    /// finish and skipped, and the poll waits for the others only briefly: one slow tenant never holds the rest.
    /// </remarks>
    public async Task RefreshChangedAsync()
    {
        var started = new List<Task>(_entries.Count);
        foreach (var (tenantId, snapshot) in _entries)
        {
            if (_refreshing.TryGetValue(tenantId, out var running) && !running.IsCompleted)
            {
                continue;
            }

            var refresh = RefreshAsync(tenantId, snapshot.Version);
            _refreshing[tenantId] = refresh;
            started.Add(refresh);
        }

        try
        {
            await Task.WhenAll(started).WaitAsync(PollPatience);
        }
        catch (TimeoutException)
        {
            // The slow ones go on by themselves; the next poll skips them until they end.
        }
    }

    private static readonly TimeSpan PollPatience = TimeSpan.FromMilliseconds(500);

    private async Task RefreshAsync(string tenantId, long cachedVersion)
    {
        try
        {
            if (await Tenant(tenantId).GetVersionAsync() != cachedVersion)
            {
                await FetchAsync(tenantId);
            }

            if (_failing.TryRemove(tenantId, out _))
            {
                logger.LogInformation("Tenant {Tenant} refreshes again", tenantId);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Polled several times a second: one warning per outage, not one per poll.
            if (_failing.TryAdd(tenantId, true))
            {
                logger.LogWarning(ex, "Could not refresh tenant {Tenant}; serving the previous snapshot", tenantId);
            }
        }
    }

    private async Task<TenantSnapshot> FetchAsync(string tenantId)
    {
        var snapshot = await Tenant(tenantId).GetSnapshotAsync();
        await rules.SyncAsync(snapshot);
        // A slower fetch of an older version never replaces a newer one.
        return _entries.AddOrUpdate(tenantId, snapshot, (_, held) => held.Version > snapshot.Version ? held : snapshot);
    }

    private ITenantGrain Tenant(string tenantId) => grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId));
}
