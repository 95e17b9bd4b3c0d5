using Roxy.Grains;
using Roxy.Grains.Usage;

namespace Roxy.Api.Usage;

/// <summary>
/// Sends each tenant's usage counted on this frontend to its <see cref="IUsageGrain"/> every second, and what is left at
/// shutdown: one one-way message per active tenant, never one per request. A report adds this frontend's unsent rows to
/// what the grain holds, so it sees this frontend's requests up to the moment it was asked.
/// </summary>
public sealed class UsageFlusher(UsageRecorder recorder, IGrainFactory grains, TimeProvider time, ILogger<UsageFlusher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    // A report reads the grain and this frontend's unsent rows while no send runs, so no row is counted twice. One-way
    // messages are not ordered with later calls: rows sent just before a read may show up a moment later, never twice.
    private readonly SemaphoreSlim _sending = new(1, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var sent = await FlushAsync();
        // One-way messages are not awaited; a read after them (an empty range reads nothing) gives each grain time to
        // take them in before the silo's shutdown deactivates and saves it. Best effort: Orleans does not order the two.
        foreach (var tenantId in sent)
        {
            try
            {
                await Grain(tenantId).GetAsync(DateOnly.MaxValue, DateOnly.MinValue).WaitAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Usage of tenant {Tenant} may not have reached its grain before shutdown", tenantId);
            }
        }
    }

    /// <summary>Sends every tenant's unsent rows; returns the tenants that had any.</summary>
    public async Task<List<string>> FlushAsync()
    {
        var sent = new List<string>();
        foreach (var tenantId in recorder.Tenants)
        {
            if (await SendAsync(tenantId))
            {
                sent.Add(tenantId);
            }
        }

        return sent;
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

    private async Task<bool> SendAsync(string tenantId)
    {
        await _sending.WaitAsync();
        try
        {
            if (Send(tenantId) is not { } send)
            {
                return false;
            }

            await send;
            return true;
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
            return Returning(Grain(tenantId).RecordAsync([.. rows]), tenantId, rows);
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
