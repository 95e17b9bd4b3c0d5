using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Roxy.Grains.Caching;

/// <summary>
/// Writes stored entries to PostgreSQL off the request path: rows queue here and go out in batches of up to
/// <see cref="PromptCacheOptions.WriteBatchRows"/>, one round trip each, at most <see cref="PromptCacheOptions.WriteDelay"/>
/// after the first row of a batch arrived. What is queued when the silo stops is written before it goes.
/// </summary>
public sealed class PromptCacheWriter(PromptCacheStore store, IOptions<PromptCacheOptions> options, ILogger<PromptCacheWriter> logger)
    : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    /// <summary>Rows held while PostgreSQL is down; past it the oldest are dropped (a cache may forget).</summary>
    public const int MaxQueuedRows = 10_000;

    private readonly Channel<PromptCacheRow> _queue = Channel.CreateBounded<PromptCacheRow>(
        new BoundedChannelOptions(MaxQueuedRows) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    /// <summary>Queues a row; never blocks.</summary>
    public void Enqueue(PromptCacheRow row) => _queue.Writer.TryWrite(row);

    void ILifecycleParticipant<ISiloLifecycle>.Participate(ISiloLifecycle lifecycle) =>
        // Application services stop after every grain is deactivated, so the last stores are in the queue by then.
        lifecycle.Subscribe(nameof(PromptCacheWriter), ServiceLifecycleStage.ApplicationServices, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync(); // ends a batch's wait: flush now
        await _loop.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        var settings = options.Value;
        var batch = new List<PromptCacheRow>(settings.WriteBatchRows);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            Drain(reader, batch, settings.WriteBatchRows);
            if (batch.Count < settings.WriteBatchRows && !_stopping.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(settings.WriteDelay, _stopping.Token);
                }
                catch (OperationCanceledException)
                {
                }

                Drain(reader, batch, settings.WriteBatchRows);
            }

            try
            {
                await store.WriteAsync(batch);
            }
            catch (Exception ex)
            {
                // The entries stay served from memory; only their persistence is lost. No prompt is in a row's key.
                logger.LogWarning(ex, "Could not write {Rows} prompt cache rows to PostgreSQL", batch.Count);
            }

            batch.Clear();
        }
    }

    private static void Drain(ChannelReader<PromptCacheRow> reader, List<PromptCacheRow> batch, int limit)
    {
        while (batch.Count < limit && reader.TryRead(out var row))
        {
            batch.Add(row);
        }
    }
}
