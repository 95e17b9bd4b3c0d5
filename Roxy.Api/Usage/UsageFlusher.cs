using Roxy.Api.Hosting;
using Roxy.Grains;
using Roxy.Grains.Usage;

namespace Roxy.Api.Usage;

/// <summary>
/// Sends each tenant's usage counted on this frontend to its <see cref="IUsageGrain"/> every second, and what is left at
/// shutdown: one call per active tenant, never one per request, all in parallel and awaited. A call that fails (the
/// grain's silo died, the cluster is unreachable) puts its rows back, to go with the next report. A report adds this
/// frontend's unsent rows to what the grain holds, so it sees this frontend's requests up to the moment it was asked.
/// </summary>
public sealed class UsageFlusher(UsageRecorder recorder, IGrainFactory grains, TimeProvider time, ILogger<UsageFlusher> logger)
    : PeriodicFlusher(Interval, time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a flush waits for its calls. A call still running then is not given up: its rows go back if it fails
    /// later (Orleans ends every call, at the latest at its response timeout), so a slow grain delays neither the next
    /// flush for long nor counts a row twice.
    /// </summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(5);

    // A report reads the grain and this frontend's unsent rows while no flush runs, so no row is counted twice or
    // missed (only a call that outlives SendTimeout may show up in a report a moment later).
    private readonly SemaphoreSlim _sending = new(1, 1);

    protected override async Task FlushOnceAsync(bool final)
    {
        await FlushAsync();
        if (!final)
        {
            return;
        }

        foreach (var tenantId in recorder.Tenants)
        {
            if (recorder.Pending(tenantId) is { Count: > 0 } left)
            {
                logger.LogError("Usage of tenant {Tenant} could not be reported before shutdown: {Requests} request(s) not counted", tenantId, left.Sum(r => r.Requests));
            }
        }
    }

    /// <summary>Sends every tenant's unsent rows and waits for the calls (at most <see cref="SendTimeout"/>); returns the tenants that had any.</summary>
    public async Task<List<string>> FlushAsync()
    {
        await _sending.WaitAsync();
        try
        {
            var sent = new List<string>();
            var calls = new List<Task>();
            foreach (var tenantId in recorder.Tenants)
            {
                if (Send(tenantId) is { } call)
                {
                    sent.Add(tenantId);
                    calls.Add(call);
                }
            }

            try
            {
                // The calls never throw (a failure returns its rows); only the wait can time out.
                await Task.WhenAll(calls).WaitAsync(SendTimeout, Time);
            }
            catch (TimeoutException)
            {
                logger.LogWarning("Usage reports of {Tenants} tenant(s) still unanswered after {Timeout}; their rows go back if the calls fail", sent.Count, SendTimeout);
            }

            return sent;
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>
    /// The tenant's rows from <paramref name="firstDay"/> to <paramref name="lastDay"/> as the cluster holds them,
    /// this frontend's unsent rows sent first.
    /// </summary>
    public async Task<IReadOnlyList<UsageDelta>> ReadAsync(string tenantId, DateOnly firstDay, DateOnly lastDay)
    {
        await _sending.WaitAsync();
        try
        {
            var rows = new Dictionary<(DateOnly, string, string, string, string), UsageDelta>();
            foreach (var row in await Grain(tenantId).GetAsync(firstDay, lastDay))
            {
                UsageRows.AddTo(rows, row);
            }

            foreach (var row in recorder.Pending(tenantId))
            {
                if (row.Day >= firstDay && row.Day <= lastDay)
                {
                    UsageRows.AddTo(rows, row);
                }
            }

            return [.. rows.Values];
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>
    /// Takes and sends the tenant's rows (the caller holds <c>_sending</c>); a failed send returns them. Null when
    /// there was nothing to send.
    /// </summary>
    private Task? Send(string tenantId)
    {
        var rows = recorder.Take(tenantId);
        if (rows.Count == 0)
        {
            return null;
        }

        try
        {
            return Returning(Grain(tenantId).RecordAsync(rows.ToArray()), tenantId, rows);
        }
        catch (Exception ex)
        {
            Failed(ex, tenantId, rows);
            return Task.CompletedTask;
        }
    }

    private async Task Returning(Task send, string tenantId, List<UsageDelta> rows)
    {
        try
        {
            await send;
        }
        catch (Exception ex)
        {
            Failed(ex, tenantId, rows);
        }
    }

    private void Failed(Exception ex, string tenantId, List<UsageDelta> rows)
    {
        recorder.Return(tenantId, rows);
        logger.LogWarning(ex, "Could not report the usage of tenant {Tenant}; it goes with the next report", tenantId);
    }

    public override void Dispose()
    {
        _sending.Dispose();
        base.Dispose();
    }

    private IUsageGrain Grain(string tenantId) => grains.GetGrain<IUsageGrain>(GrainKeys.Usage(tenantId));
}
