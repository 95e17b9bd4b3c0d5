using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Roxy.Grains.Caching;

/// <summary>
/// Deletes expired rows (TTL passed, or set to '-infinity' by a clear or a rule change) every
/// <see cref="PromptCacheOptions.SweepInterval"/>, in batches through the expiry index until a batch comes back short.
/// Each silo sweeps; SKIP LOCKED keeps them off each other's rows, and no request waits on a sweep.
/// </summary>
public sealed class PromptCacheSweeper(PromptCacheStore store, TimeProvider time, IOptions<PromptCacheOptions> options, ILogger<PromptCacheSweeper> logger)
    : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    public const int BatchRows = 1000;

    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    /// <summary>One sweep: deletes every row expired by now, <see cref="BatchRows"/> at a time; returns how many.</summary>
    public async Task<long> SweepOnceAsync(CancellationToken cancellationToken = default)
    {
        long total = 0;
        int deleted;
        do
        {
            deleted = await store.DeleteExpiredAsync(time.GetUtcNow(), BatchRows, cancellationToken);
            total += deleted;
        }
        while (deleted == BatchRows);

        return total;
    }

    void ILifecycleParticipant<ISiloLifecycle>.Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PromptCacheSweeper), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _loop.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        // Wall-clock interval: sweeping is housekeeping, and a test's fake clock should not have to drive it.
        using var timer = new PeriodicTimer(options.Value.SweepInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                try
                {
                    var deleted = await SweepOnceAsync(_stopping.Token);
                    if (deleted > 0)
                    {
                        logger.LogDebug("Prompt cache sweep deleted {Rows} rows", deleted);
                    }
                }
                catch (Exception ex) when (!_stopping.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "Prompt cache sweep failed; trying again in {Interval}", options.Value.SweepInterval);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }
}
