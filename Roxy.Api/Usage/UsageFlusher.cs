using Roxy.Grains;
using Roxy.Grains.Usage;

namespace Roxy.Api.Usage;

/// <summary>
/// Sends each tenant's usage counted on this frontend to its <see cref="IUsageGrain"/> every second, and what is left at
/// shutdown: one one-way message per active tenant, never one per request. A report flushes its tenant first, so it
/// sees this frontend's requests up to the moment it was asked.
/// </summary>
public sealed class UsageFlusher(UsageRecorder recorder, IGrainFactory grains, TimeProvider time, ILogger<UsageFlusher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    // Taking a tenant's rows and sending them is one step: a report that flushes and then reads cannot slip between
    // another flush's take and its send, so it never misses rows that are on their way.
    private readonly Lock _sending = new();

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
        // One-way messages are not awaited by their grain; a read after them (an empty range reads nothing) returns once
        // each grain has taken them in, so the silo's shutdown, which deactivates and saves the grains, includes them.
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
        Task<IReadOnlyList<UsageDelta>> read;
        Task? flushed;
        lock (_sending)
        {
            flushed = Send(tenantId);
            read = Grain(tenantId).GetAsync(firstDay, lastDay);
        }

        if (flushed is not null)
        {
            await flushed;
        }

        return await read;
    }

    private async Task<bool> SendAsync(string tenantId)
    {
        Task? send;
        lock (_sending)
        {
            send = Send(tenantId);
        }

        if (send is null)
        {
            return false;
        }

        await send;
        return true;
    }

    /// <summary>
    /// Takes and sends the tenant's rows (the caller holds <see cref="_sending"/>); a failed send returns them. Null when
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
            return Returning(Grain(tenantId).RecordAsync(rows), tenantId, rows);
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

    private IUsageGrain Grain(string tenantId) => grains.GetGrain<IUsageGrain>(GrainKeys.Usage(tenantId));
}
