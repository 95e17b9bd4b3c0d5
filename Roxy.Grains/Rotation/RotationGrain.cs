using Microsoft.Extensions.Logging;
using Roxy.Grains.Tenancy;

namespace Roxy.Grains.Rotation;

/// <summary>
/// Decides which key of a (tenant, provider) serves each request. Windows live in memory and are written to
/// PostgreSQL only on deactivation; nothing on the per-request path touches storage.
/// </summary>
public sealed class RotationGrain(
    [PersistentState("rotation", RoxyStorage.Name)] IPersistentState<RotationState> state,
    TimeProvider time,
    ILogger<RotationGrain> logger) : Grain, IRotationGrain
{
    private readonly KeyPool _pool = new(time);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (tenantId, provider) = GrainKeys.ParseRotation(this.GetPrimaryKeyString());
        var snapshot = await GrainFactory.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId)).GetSnapshotAsync();
        _pool.SetKeys(snapshot.Keys.Where(k => k.Provider == provider).ToArray());
        if (state.State.Windows.Count > 0)
        {
            _pool.Restore(state.State.Windows);
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The only write this grain makes: enough to stop a restart from letting keys burst.
        state.State.Windows = _pool.Snapshot();
        state.State.SavedAtTicks = time.GetUtcNow().UtcTicks;
        try
        {
            await state.WriteStateAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Could not save rate windows of {Rotation}", this.GetPrimaryKeyString());
        }
    }

    ValueTask<KeyLease> IRotationGrain.AcquireAsync(AcquireRequest request)
    {
        ApplyReports(request.Reports);
        return ValueTask.FromResult(_pool.Acquire(request.EstimatedTokens, request.ExcludeKeyIds));
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
            if (_pool.Report(report) is { } d)
            {
                (disabled ??= []).Add(d);
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
