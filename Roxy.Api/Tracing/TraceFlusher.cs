using Roxy.Api.Hosting;
using Roxy.Grains;
using Roxy.Grains.Tracing;

namespace Roxy.Api.Tracing;

/// <summary>
/// Sends the finished traces to each tenant's <see cref="IRequestTraceGrain"/> every <see cref="Interval"/> and once
/// more at shutdown: one one-way message per tenant and batch, never one per request, so whichever frontend is asked
/// finds a request a moment after it ended. A batch the cluster refuses goes back into the (bounded) queue.
/// </summary>
public sealed class TraceFlusher(UnsentTraces queue, IGrainFactory grains, TraceRecorder recorder, TimeProvider time, ILogger<TraceFlusher> logger)
    : PeriodicFlusher(Interval, time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    /// <summary>At most this many traces in one message: a burst after an outage goes as several, each of a bounded size.</summary>
    public const int MaxBatch = 1000;

    private readonly List<RequestTrace> _taken = [];
    private bool _failing;

    // Traces sent and refused in the current flush.
    private int _sent;
    private int _failed;
    private long _droppedReported;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Traces name this frontend only by its opaque id (tenant admins read them); the operator maps it to a machine here.
        logger.LogInformation("This frontend is {Frontend} in request traces; it runs on {MachineName}", recorder.Frontend, Environment.MachineName);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task FlushOnceAsync(bool final)
    {
        await FlushAsync();
        if (final && queue.Count > 0)
        {
            logger.LogWarning("{Count} request trace(s) could not be sent before shutdown; #roxy why will not find those requests", queue.Count);
        }
    }

    /// <summary>Sends what is queued now. Only the timer (and shutdown) calls it, never two at once.</summary>
    public async Task FlushAsync()
    {
        // What arrives during the flush waits for the next one, so a busy frontend cannot keep a flush going forever.
        var pending = queue.Count;
        var batches = new Dictionary<string, List<RequestTrace>>(StringComparer.Ordinal);
        _sent = _failed = 0;
        while (pending > 0)
        {
            _taken.Clear();
            pending -= queue.TakeInto(_taken, Math.Min(pending, MaxBatch));
            if (_taken.Count == 0)
            {
                break;
            }

            foreach (var trace in _taken)
            {
                if (!batches.TryGetValue(trace.TenantId, out var batch))
                {
                    batches[trace.TenantId] = batch = [];
                }

                batch.Add(trace);
                if (batch.Count == MaxBatch)
                {
                    batches.Remove(trace.TenantId);
                    await SendAsync(trace.TenantId, batch);
                }
            }
        }

        foreach (var (tenantId, batch) in batches)
        {
            await SendAsync(tenantId, batch);
        }

        Report();
    }

    /// <summary>Sends one batch; one the cluster refuses goes back into the queue. Counts it as sent or failed.</summary>
    private async Task SendAsync(string tenantId, List<RequestTrace> batch)
    {
        try
        {
            // One-way: done once the message is on its way; a cluster that cannot be reached fails it at once.
            await grains.GetGrain<IRequestTraceGrain>(GrainKeys.RequestTrace(tenantId)).RecordAsync(batch);
            _sent += batch.Count;
        }
        catch (Exception ex)
        {
            _failed += batch.Count;
            foreach (var trace in batch)
            {
                queue.Enqueue(trace);
            }

            if (!_failing)
            {
                _failing = true;
                logger.LogWarning(ex, "Could not send request traces to the cluster; they wait in a queue of {Capacity} (the oldest are dropped when it is full)", queue.Capacity);
            }
        }
    }

    private void Report()
    {
        var dropped = queue.Dropped;
        if (dropped != _droppedReported)
        {
            logger.LogWarning("{Dropped} request trace(s) dropped so far: the cluster did not take them in time", dropped);
            _droppedReported = dropped;
        }

        if (_failing && _failed == 0 && _sent > 0)
        {
            _failing = false;
            logger.LogInformation("Request traces reach the cluster again");
        }
    }
}
