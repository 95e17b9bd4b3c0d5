using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Roxy.Grains.Rotation;

namespace Roxy.Grains.Tracing;

/// <summary>
/// A tenant's recent request traces (key: tenant id). Frontends send finished traces in one-way batches; each goes into
/// a memory ring of the newest <see cref="RequestTraceOptions.Capacity"/> (O(1) append and lookup) and a pending list
/// that a timer inserts into PostgreSQL every <see cref="RequestTraceOptions.WritePeriod"/> and on deactivation. A lookup
/// memory cannot answer (an older trace, or one recorded before this activation) reads the table by primary key.
/// </summary>
/// <remarks>
/// Reentrant: a write or a table read in flight holds up no record and no lookup. Every state change happens between
/// awaits, on the grain's one thread, so nothing needs a lock. A failed write keeps its traces pending (the newest
/// <see cref="RequestTraceOptions.Capacity"/> at most) and goes again next period. A silo killed outright loses what
/// it had not written yet, at most one period's traces.
/// </remarks>
[Reentrant]
public sealed class RequestTraceGrain(
    RequestTraceStore store,
    TraceMemory memory,
    IOptions<RequestTraceOptions> options,
    TimeProvider time,
    ILogger<RequestTraceGrain> logger) : Grain, IRequestTraceGrain
{
    /// <summary>Longer request ids are none Roxy issued: answered "not found" without a read.</summary>
    public const int MaxRequestIdLength = 200;

    private readonly RequestTraceOptions _options = options.Value;
    private readonly TraceRing _ring = new(options.Value.Capacity);
    private readonly SingleWrite _writing = new();
    private List<RequestTrace> _pending = [];
    private List<RequestTrace> _spare = [];
    private long _sincePrune;

    private string TenantId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        memory.Join();
        // Interleaved: records and lookups go on while a write is in flight.
        this.RegisterGrainTimer(static (grain, ct) => grain.TickAsync(ct), this,
            new GrainTimerCreationOptions(_options.WritePeriod, _options.WritePeriod) { Interleave = true, KeepAlive = false });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        memory.Leave();
        if (_writing.Pending is { } inFlight)
        {
            await inFlight;
        }

        // The last batch must not be lost with the activation, and a tenant that deactivates often must still be pruned.
        await WriteAsync(prune: _sincePrune > 0 || _pending.Count > 0, cancellationToken);
        if (_pending.Count > 0)
        {
            logger.LogError("Request traces of tenant {Tenant} could not be saved before deactivation: {Traces} lost", TenantId, _pending.Count);
        }
    }

    Task IRequestTraceGrain.RecordAsync(IReadOnlyList<RequestTrace> traces)
    {
        var tenantId = TenantId;
        var share = memory.Share(_ring.Capacity);
        foreach (var trace in traces)
        {
            // A trace sent to the wrong tenant's grain (a frontend bug) must never become readable by that tenant.
            if (trace is null || !string.Equals(trace.TenantId, tenantId, StringComparison.Ordinal) || !IsRequestId(trace.RequestId))
            {
                continue;
            }

            _ring.Add(trace, share);
            _pending.Add(trace);
        }

        TrimPending();
        return Task.CompletedTask;
    }

    async Task<RequestTrace?> IRequestTraceGrain.FindAsync(string requestId)
    {
        if (!IsRequestId(requestId))
        {
            return null;
        }

        var trace = _ring.Find(requestId);
        if (trace is null)
        {
            using var deadline = new CancellationTokenSource(_options.ReadTimeout);
            trace = await store.FindAsync(TenantId, requestId, deadline.Token);
        }

        return trace is not null && !TooOld(trace) ? trace : null;
    }

    async Task IRequestTraceGrain.DeleteAllAsync()
    {
        if (_writing.Pending is { } inFlight)
        {
            // A batch on its way would land after the delete otherwise.
            await inFlight;
        }

        _ring.Clear();
        _pending.Clear();
        _sincePrune = 0;
        await store.DeleteTenantAsync(TenantId);
    }

    private Task TickAsync(CancellationToken cancellationToken)
    {
        // Pruned every PruneEvery rows while busy, and at the first quiet tick after: the table soon holds no more
        // than memory does.
        if (_pending.Count > 0 || _sincePrune > 0)
        {
            var quiet = _pending.Count == 0;
            _writing.TryStart(() => WriteAsync(prune: quiet, cancellationToken));
        }

        return Task.CompletedTask;
    }

    /// <summary>Inserts what is pending, then prunes when enough was inserted since the last prune (or <paramref name="prune"/>).</summary>
    private async Task WriteAsync(bool prune, CancellationToken cancellationToken)
    {
        var tenantId = TenantId;
        if (_pending.Count > 0)
        {
            var batch = _pending;
            _pending = _spare;
            try
            {
                await store.InsertAsync(tenantId, batch, _options.WriteBatchRows, cancellationToken);
                _sincePrune += batch.Count;
                batch.Clear();
                _spare = batch;
            }
            catch (Exception ex)
            {
                // Goes again next period, ahead of what arrived meanwhile; rows that did land are not inserted twice.
                batch.AddRange(_pending);
                _pending.Clear();
                _spare = _pending;
                _pending = batch;
                TrimPending();
                logger.LogWarning(ex, "Could not save request traces of tenant {Tenant} ({Traces}); kept in memory, tried again in {Period}",
                    tenantId, batch.Count, _options.WritePeriod);
                return;
            }
        }

        if (_sincePrune >= _options.PruneEvery || (prune && _sincePrune > 0))
        {
            try
            {
                await store.PruneAsync(tenantId, _ring.Capacity, _options.MaxAge is { } age ? time.GetUtcNow() - age : null, cancellationToken);
                _sincePrune = 0;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not prune request traces of tenant {Tenant}; tried again after the next write", tenantId);
            }
        }
    }

    /// <summary>While writes fail, only the newest traces (those still in memory) are worth keeping.</summary>
    private void TrimPending()
    {
        var excess = _pending.Count - _ring.Capacity;
        if (excess > 0)
        {
            _pending.RemoveRange(0, excess);
        }
    }

    private bool TooOld(RequestTrace trace) => _options.MaxAge is { } age && trace.StartedAt < time.GetUtcNow() - age;

    private static bool IsRequestId(string? requestId) => !string.IsNullOrEmpty(requestId) && requestId.Length <= MaxRequestIdLength;
}
