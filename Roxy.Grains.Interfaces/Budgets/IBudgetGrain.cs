using Orleans.Concurrency;

namespace Roxy.Grains.Budgets;

/// <summary>
/// The spend of one tenant, or of one budgeted token of a tenant (key: <see cref="GrainKeys.Budget"/>), across the
/// whole cluster: a request reserves its worst-case cost before it goes upstream and settles to the real cost after,
/// so concurrent requests on any number of frontends cannot spend past the limit by more than estimate and actual
/// differ. The limits come with each call (from the tenant snapshot), so a changed budget applies at once.
/// </summary>
[Alias("roxy.IBudgetGrain")]
public interface IBudgetGrain : IGrainWithStringKey
{
    /// <summary>Holds <paramref name="worstCaseUsd"/> unless settled spend plus what is held plus it would cross a limit.</summary>
    [Alias("Reserve")]
    Task<BudgetReservation> ReserveAsync(BudgetLimits limits, decimal worstCaseUsd);

    /// <summary>
    /// Ends a lease: its hold is released and <paramref name="actualUsd"/> is counted as spent in the current window. A
    /// lease this activation does not know (the grain moved or restarted since) still counts its spend.
    /// </summary>
    [Alias("Settle"), OneWay]
    Task SettleAsync(long leaseId, decimal actualUsd);

    /// <summary>
    /// Creates, renews or releases a frontend's credit: a slice of the remaining budget held for it, which its requests
    /// draw on without a call. Applies the credit's spend, then sizes the credit (see <c>BudgetLedger.RenewCredit</c>).
    /// A credit not renewed within <c>BudgetLedger.CreditLifetime</c> is released (its frontend died).
    /// </summary>
    [Alias("RenewCredit")]
    Task<BudgetCredit> RenewCreditAsync(BudgetCreditRenewal renewal);

    [Alias("GetSpend")]
    Task<BudgetSpend> GetSpendAsync();

    /// <summary>Forgets all spend and holds (the tenant or token was deleted).</summary>
    [Alias("Reset")]
    Task ResetAsync();
}
