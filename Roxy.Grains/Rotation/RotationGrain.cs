using Microsoft.Extensions.Logging;
using Roxy.Grains.Tenancy;

namespace Roxy.Grains.Rotation;

/// <summary>
/// Decides which key of a (tenant, provider) serves each request. Windows live in memory; a grain timer writes them
/// to PostgreSQL every <see cref="SnapshotPeriod"/> when they changed, and on deactivation. No acquire awaits a
/// write: the only one on a request's way is the rare early write <see cref="KeyPool"/> asks for when a key used up
/// its unsaved share, and that request waits in the frontend, not here.
/// </summary>
/// <remarks>
/// Worst case after a silo hosting this grain is killed: no key exceeds its limits while snapshots are being
/// written. Every activation stores a snapshot before it serves; each key grants at most the unsaved share recorded
/// in the last stored snapshot between confirmed writes, and a restore from a snapshot that was not written on
/// deactivation charges that share again (and the share of a key added since). The share is 10 % of max_rpm (at
/// least 5 requests or a smaller key's whole limit) and 10 % of max_tpm (at least 5 of the largest recent
/// estimates, up to the whole limit), see <see cref="KeyPool"/>; the cost is up to that share of each key's capacity
/// for the minute after the crash. A request larger than the token share can exceed the token limit by its own size
/// once. When storage writes fail, the share is not enforced (the write that ends the outage enforces it again), so
/// a kill during a storage outage can let a key burst up to twice its limits, as before snapshots.
/// </remarks>
public sealed class RotationGrain(
    [PersistentState("rotation", RoxyStorage.Name)] IPersistentState<RotationState> state,
    TimeProvider time,
    ILogger<RotationGrain> logger) : Grain, IRotationGrain
{
    /// <summary>How often changed windows are written.</summary>
    public static readonly TimeSpan SnapshotPeriod = TimeSpan.FromSeconds(2);

    private readonly KeyPool _pool = new(time) { BoundUnsaved = true };
    private readonly SingleWrite _writing = new();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (tenantId, provider) = GrainKeys.ParseRotation(this.GetPrimaryKeyString());
        var snapshot = await GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId)).GetSnapshotAsync();
        _pool.SetKeys(snapshot.Keys.Where(k => k.Provider == provider).ToArray());
        if (state.RecordExists && _pool.Restore(state.State.Windows, state.State.Final))
        {
            // The previous activation died: what it may have granted since its last snapshot is now charged.
            logger.LogWarning("Rate windows of {Rotation} restored after an unclean stop; each key's unsaved share is charged", this.GetPrimaryKeyString());
        }

        // Stored before serving, first activation or not: the record then says this activation may grant each key's
        // unsaved share (and keeps a crash charge), so a kill before the first tick is charged too. The pool grants
        // nothing until a snapshot is stored; if storage is down it stops holding grants back.
        await SaveAsync(final: false, cancellationToken);

        // Interleaved: acquires keep being served while a write is in flight.
        this.RegisterGrainTimer(static (grain, ct) => grain.TickAsync(ct), this,
            new GrainTimerCreationOptions(SnapshotPeriod, SnapshotPeriod) { Interleave = true, KeepAlive = false });
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_writing.Pending is { } pending)
        {
            await pending;
        }

        // Nothing is granted after this one: the next activation charges nothing.
        await SaveAsync(final: true, cancellationToken);
    }

    private Task TickAsync(CancellationToken cancellationToken)
    {
        if (_pool.HasUnsavedChanges)
        {
            _writing.TryStart(() => SaveAsync(final: false, cancellationToken));
        }

        return Task.CompletedTask;
    }

    /// <summary>A request waited for its key's unsaved share: write now rather than at the next tick.</summary>
    private void SaveSoonIfWanted()
    {
        if (_pool.SnapshotWanted)
        {
            _writing.TryStart(() => SaveAsync(final: false, CancellationToken.None));
        }
    }

    private async Task SaveAsync(bool final, CancellationToken cancellationToken)
    {
        state.State.Windows = _pool.BeginSnapshot(final);
        state.State.Final = final;
        state.State.SavedAtTicks = time.GetUtcNow().UtcTicks;
        var written = false;
        try
        {
            await state.WriteStateAsync(cancellationToken);
            written = true;
        }
        catch (Exception ex)
        {
            // Serving goes on; the pool stops holding grants back until a write works again.
            logger.LogWarning(ex, "Could not save rate windows of {Rotation}", this.GetPrimaryKeyString());
            await RefreshETagAsync();
        }
        finally
        {
            _pool.EndSnapshot(written);
        }
    }

    /// <summary>A write that failed after it reached the table leaves a stale ETag; reading again repairs it.</summary>
    private async Task RefreshETagAsync()
    {
        var windows = state.State.Windows;
        try
        {
            await state.ReadStateAsync();
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Could not re-read rate windows of {Rotation}", this.GetPrimaryKeyString());
        }

        state.State.Windows = windows;
    }

    ValueTask<KeyLease> IRotationGrain.AcquireAsync(AcquireRequest request)
    {
        ApplyReports(request.Reports);
        var lease = _pool.Acquire(request.EstimatedTokens, request.ExcludeKeyIds);
        SaveSoonIfWanted();
        return ValueTask.FromResult(lease);
    }

    ValueTask<IReadOnlyList<KeyCredit>> IRotationGrain.TopUpAsync(CreditRequest request)
    {
        ApplyReports(request.Reports);
        return ValueTask.FromResult(_pool.GrantCredits(request.Credits, request.Tokens));
    }

    ValueTask IRotationGrain.ReportAsync(UsageReport report)
    {
        ApplyReports([report]);
        return ValueTask.CompletedTask;
    }

    ValueTask IRotationGrain.ReportManyAsync(IReadOnlyList<UsageReport> reports)
    {
        ApplyReports(reports);
        return ValueTask.CompletedTask;
    }

    /// <summary>Applies reports in memory; a key the provider refused is persisted in the background.</summary>
    private void ApplyReports(IReadOnlyList<UsageReport>? reports)
    {
        if (reports is null)
        {
            return;
        }

        List<KeyDisabled>? disabled = null;
        foreach (var report in reports)
        {
            try
            {
                if (_pool.Report(report) is { } d)
                {
                    (disabled ??= []).Add(d);
                }
            }
            catch (Exception ex)
            {
                // One bad report (it rides along with other requests' acquires) must never fail those requests.
                logger.LogWarning(ex, "Dropped a usage report for key {KeyId} of {Rotation} that could not be applied", report.KeyId, this.GetPrimaryKeyString());
            }
        }

        if (disabled is not null)
        {
            // Not awaited: the key is already out of rotation in memory, and acquires must not queue behind a
            // PostgreSQL write (warm grains keep serving while storage is in trouble).
            _ = PersistDisabledAsync(disabled);
        }
    }

    private async Task PersistDisabledAsync(List<KeyDisabled> disabled)
    {
        var (tenantId, _) = GrainKeys.ParseRotation(this.GetPrimaryKeyString());
        var tenant = GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId));
        foreach (var d in disabled)
        {
            logger.LogWarning("Key {KeyId} of {Rotation} disabled: {Reason}", d.KeyId, this.GetPrimaryKeyString(), d.Reason);
            try
            {
                await tenant.SetKeyEnabledAsync(d.KeyId, false, d.Reason);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not persist that key {KeyId} was refused; it stays out of rotation in memory", d.KeyId);
            }
        }
    }

    Task IRotationGrain.SetKeysAsync(IReadOnlyList<ProviderKey> keys)
    {
        _pool.SetKeys(keys);
        return Task.CompletedTask;
    }

    ValueTask<IReadOnlyList<KeyUsage>> IRotationGrain.GetUsageAsync() => ValueTask.FromResult(_pool.Usage());
}
