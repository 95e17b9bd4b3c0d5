using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Roxy.Grains.Caching;

/// <summary>
/// Writes stored entries to PostgreSQL off the request path: rows queue here and go out in batches of up to
/// <see cref="PromptCacheOptions.WriteBatchRows"/>, one round trip each, at most <see cref="PromptCacheOptions.WriteDelay"/>
/// after the first row of a batch arrived. What is queued when the silo stops is written before it goes.
/// </summary>
/// <remarks>
/// The queue is bounded by rows and by bytes (<see cref="PromptCacheOptions.WriterQueueBytes"/>), counting the batch
/// in flight: while PostgreSQL is slow the queue fills and new rows are dropped, never the heap grown. A failed batch
/// is tried once more after <see cref="PromptCacheOptions.WriteRetryDelay"/>, then row by row, so one bad row loses
/// only itself; rows that still fail are lost (their entries stay served from memory). Nothing is held for an outage.
/// </remarks>
/// <remarks>
/// A row of a shard activation younger than its lease waits here until the lease has passed since its epoch bump
/// (<see cref="PromptCacheShard.WritableFrom"/>): until then an older activation may still trust a set without it.
/// </remarks>
public sealed class PromptCacheWriter(PromptCacheStore store, IOptions<PromptCacheOptions> options, ILogger<PromptCacheWriter> logger, TimeProvider? time = null)
    : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    /// <summary>How often rows waiting for their shard's lease are looked at again.</summary>
    private const int DeferredPollMillis = 100;

    /// <summary>A row that waited this long for its shard (whose epoch bump never succeeded) is given up.</summary>
    private const long DeferredGiveUpMillis = 60_000;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly List<(PromptCacheRow Row, long GiveUpAt)> _deferred = [];
    private Task<bool>? _waiting;
    /// <summary>Rows queued or in flight at most, whatever their size.</summary>
    public const int MaxQueuedRows = 10_000;

    private readonly Channel<PromptCacheRow> _queue = Channel.CreateUnbounded<PromptCacheRow>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private long _heldRows;
    private long _heldBytes;
    private long _dropped;
    private long _lost;
    private int _full;

    /// <summary>Entry JSON bytes queued or being written.</summary>
    public long HeldBytes => Interlocked.Read(ref _heldBytes);

    /// <summary>Rows refused because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Rows PostgreSQL refused even one by one.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    public void Dispose() => _stopping.Dispose();

    /// <summary>Queues a row; never blocks. False when the queue is full (or stopped) and the row is dropped.</summary>
    public bool Enqueue(PromptCacheRow row)
    {
        long size = row.Entry.Length;
        var rows = Interlocked.Increment(ref _heldRows);
        var bytes = Interlocked.Add(ref _heldBytes, size);
        var full = rows > MaxQueuedRows || (rows > 1 && bytes > options.Value.WriterQueueBytes);
        row.Shard?.RowQueued();
        if (!full && _queue.Writer.TryWrite(row))
        {
            return true;
        }

        row.Shard?.RowDone();
        Release(1, size);
        Interlocked.Increment(ref _dropped);
        if (Interlocked.Exchange(ref _full, 1) == 0)
        {
            // Once per spell of fullness, not per row: a stalled database must not flood the log too.
            logger.LogWarning("Prompt cache write queue full ({Rows} rows, {Bytes} bytes held); new rows are dropped until it drains", rows, bytes);
        }

        return false;
    }

    void ILifecycleParticipant<ISiloLifecycle>.Participate(ISiloLifecycle lifecycle) =>
        // Application services stop after every grain is deactivated, so the last stores are in the queue by then.
        lifecycle.Subscribe(nameof(PromptCacheWriter), ServiceLifecycleStage.ApplicationServices, StartAsync, StopAsync);

    internal Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    internal async Task StopAsync(CancellationToken cancellationToken)
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
        var open = true;
        while (open || _deferred.Count > 0)
        {
            if (open)
            {
                open = await NextAsync(reader);
            }
            else
            {
                await Task.Delay(DeferredPollMillis, CancellationToken.None); // stopping: only deferred rows are left
            }

            TakeDeferred(batch, settings.WriteBatchRows);
            Drain(reader, batch, settings.WriteBatchRows);
            if (batch.Count == 0)
            {
                continue;
            }

            if (batch.Count < settings.WriteBatchRows && !_stopping.IsCancellationRequested)
            {
                await PauseAsync(settings.WriteDelay);
                Drain(reader, batch, settings.WriteBatchRows);
            }

            await WriteAsync(batch, settings.WriteRetryDelay);
            long bytes = 0;
            foreach (var row in batch)
            {
                bytes += row.Entry.Length;
                row.Shard?.RowDone();
            }

            Release(batch.Count, bytes);
            batch.Clear();
            Volatile.Write(ref _full, 0);
        }
    }

    /// <summary>Waits for rows (or, with rows deferred, at most a poll); false once the queue is completed and empty.</summary>
    private async Task<bool> NextAsync(ChannelReader<PromptCacheRow> reader)
    {
        if (_deferred.Count == 0 && _waiting is null)
        {
            return await reader.WaitToReadAsync(CancellationToken.None);
        }

        // One wait stays pending across polls: a single-reader channel takes one at a time.
        _waiting ??= reader.WaitToReadAsync(CancellationToken.None).AsTask();
        if (_deferred.Count > 0 && await Task.WhenAny(_waiting, Task.Delay(DeferredPollMillis, CancellationToken.None)) != _waiting)
        {
            return true;
        }

        var more = await _waiting;
        _waiting = null;
        return more;
    }

    /// <summary>Moves the deferred rows whose shard may write now into the batch, oldest first (a later store of a key wins).</summary>
    private void TakeDeferred(List<PromptCacheRow> batch, int limit)
    {
        if (_deferred.Count == 0)
        {
            return;
        }

        var now = _time.GetTimestamp();
        var wall = Environment.TickCount64;
        var kept = 0;
        for (var i = 0; i < _deferred.Count; i++)
        {
            var (row, giveUpAt) = _deferred[i];
            if (batch.Count < limit && row.Shard!.WritableFrom <= now)
            {
                batch.Add(row);
            }
            else if (wall >= giveUpAt)
            {
                Interlocked.Increment(ref _lost);
                row.Shard!.RowDone();
                Release(1, row.Entry.Length);
            }
            else
            {
                _deferred[kept++] = _deferred[i];
            }
        }

        _deferred.RemoveRange(kept, _deferred.Count - kept);
    }

    private async Task WriteAsync(List<PromptCacheRow> batch, TimeSpan retryDelay)
    {
        try
        {
            await store.WriteAsync(batch);
            return;
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not write {Rows} prompt cache rows to PostgreSQL; trying again in {Delay}", batch.Count, retryDelay);
        }

        await PauseAsync(retryDelay);
        try
        {
            await store.WriteAsync(batch);
            return;
        }
        catch (Exception ex) when (batch.Count > 1)
        {
            logger.LogWarning(ex, "Could not write {Rows} prompt cache rows to PostgreSQL again; writing them one by one", batch.Count);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _lost);
            logger.LogWarning(ex, "Could not write a prompt cache row to PostgreSQL; it is served from memory only");
            return;
        }

        // A batch is one transaction: one row PostgreSQL refuses (say, a tenant id too long for its column) sinks
        // the rest with it. One by one, only that row is lost.
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                await store.WriteAsync([batch[i]]);
            }
            catch (PostgresException ex)
            {
                Interlocked.Increment(ref _lost);
                logger.LogWarning(ex, "PostgreSQL refused a prompt cache row for tenant {Tenant}; it is served from memory only", batch[i].Key.TenantId);
            }
            catch (Exception ex)
            {
                // Not this row's fault: the database is unreachable, so the rest would fail the same way, slowly.
                Interlocked.Add(ref _lost, batch.Count - i);
                logger.LogWarning(ex, "PostgreSQL is unreachable; {Rows} prompt cache rows are served from memory only", batch.Count - i);
                return;
            }
        }
    }

    private async Task PauseAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _stopping.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Release(long rows, long bytes)
    {
        Interlocked.Add(ref _heldRows, -rows);
        Interlocked.Add(ref _heldBytes, -bytes);
    }

    private void Drain(ChannelReader<PromptCacheRow> reader, List<PromptCacheRow> batch, int limit)
    {
        var now = _time.GetTimestamp();
        while (batch.Count < limit && reader.TryRead(out var row))
        {
            if (row.Shard is { } shard && shard.WritableFrom > now)
            {
                _deferred.Add((row, Environment.TickCount64 + DeferredGiveUpMillis));
            }
            else
            {
                batch.Add(row);
            }
        }
    }
}
