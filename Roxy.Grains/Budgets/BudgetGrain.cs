using Microsoft.Extensions.Logging;

namespace Roxy.Grains.Budgets;

/// <summary>
/// One budget (a tenant's, or one budgeted token's) for the whole cluster. Reserve and settle are answered from memory
/// by <see cref="BudgetLedger"/>, without an await; the settled spend is written by a timer every
/// <see cref="SavePeriod"/> when it changed, and on deactivation, never per request.
/// </summary>
/// <remarks>
/// One activation per budget serialises every reservation of that tenant. A busy frontend takes the grain off its
/// requests' path with a credit (<see cref="BudgetLedger.RenewCredit"/>): a slice of the remaining budget held for it,
/// drawn on locally and renewed in one call every quarter second with the spend it settled. Credits are held exactly
/// as reservations are, so spend plus every hold still never passes the limit; near the limit they shrink to nothing
/// and every request is reserved here again. Credits, like holds, live in memory only. A silo killed outright loses at most the spend settled in the last period (up to <see cref="SavePeriod"/>); a
/// graceful stop or move loses nothing. Holds live in memory only: after a move, requests still in flight settle their
/// real cost into the new activation, their holds are simply gone.
/// </remarks>
public sealed class BudgetGrain(
    [PersistentState("budget", RoxyStorage.Name)] IPersistentState<BudgetState> state,
    TimeProvider time,
    ILogger<BudgetGrain> logger) : Grain, IBudgetGrain
{
    public static readonly TimeSpan SavePeriod = TimeSpan.FromSeconds(2);

    private readonly BudgetLedger _ledger = new(time);
    private Task? _writing;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _ledger.Restore(state.RecordExists ? state.State : null);
        // Interleaved: reservations go on being answered while a write is in flight (the write works on its own copy).
        this.RegisterGrainTimer(static (grain, ct) => grain.TickAsync(ct), this,
            new GrainTimerCreationOptions(SavePeriod, SavePeriod) { Interleave = true, KeepAlive = false });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_writing is { } pending)
        {
            await pending;
        }

        await SaveIfDirtyAsync(cancellationToken);
    }

    Task<BudgetReservation> IBudgetGrain.ReserveAsync(BudgetLimits limits, decimal worstCaseUsd) =>
        Task.FromResult(_ledger.Reserve(limits, worstCaseUsd));

    Task IBudgetGrain.SettleAsync(long leaseId, decimal actualUsd)
    {
        _ledger.Settle(leaseId, actualUsd);
        return Task.CompletedTask;
    }

    Task<BudgetCredit> IBudgetGrain.RenewCreditAsync(BudgetCreditRenewal renewal) => Task.FromResult(_ledger.RenewCredit(renewal));

    Task<BudgetSpend> IBudgetGrain.GetSpendAsync() => Task.FromResult(_ledger.Spend());

    async Task IBudgetGrain.ResetAsync()
    {
        if (_writing is { } pending)
        {
            await pending;
        }

        _ledger.Reset();
        _ledger.WriteTo(new BudgetState()); // the row is deleted instead of written
        var clear = state.ClearStateAsync();
        _writing = clear; // the timer does not write while the row is being deleted
        try
        {
            await clear;
        }
        finally
        {
            _writing = null;
        }
    }

    private Task TickAsync(CancellationToken cancellationToken)
    {
        if (_ledger.ExpireLeases() is > 0 and var expired)
        {
            logger.LogWarning("Budget {Budget}: {Count} holds or credits were never settled or renewed in time (a frontend died?) and were released",
                this.GetPrimaryKeyString(), expired);
        }

        return _writing is null ? SaveIfDirtyAsync(cancellationToken) : Task.CompletedTask;
    }

    private async Task SaveIfDirtyAsync(CancellationToken cancellationToken)
    {
        if (!_ledger.Dirty)
        {
            return;
        }

        // The copy is taken before the first await, so settles that interleave with the write change the ledger only.
        var snapshot = new BudgetState();
        _ledger.WriteTo(snapshot);
        state.State = snapshot;
        var write = state.WriteStateAsync(cancellationToken);
        _writing = write;
        try
        {
            await write;
        }
        catch (Exception ex)
        {
            _ledger.MarkDirty();
            logger.LogWarning(ex, "Could not save budget {Budget}; it stays counted in memory and the next period tries again", this.GetPrimaryKeyString());
        }
        finally
        {
            _writing = null;
        }
    }
}
