namespace Roxy.Api.Budgets;

/// <summary>
/// What a request reserved before going upstream, on its tenant's budget and, for a budgeted token, on the token's:
/// for each, either a draw on this frontend's credit (<see cref="BudgetCreditLine"/>, no grain call) or a lease on the
/// budget grain. Settled once, when the request ends, whatever way it ends.
/// </summary>
public sealed class BudgetHold(BudgetGate.Part tenant, BudgetGate.Part token, decimal reservedUsd)
{
    /// <summary>Empty when the tenant has no budget of its own (only the token does).</summary>
    public BudgetGate.Part Tenant { get; } = tenant;

    /// <summary>Set when the token has a budget of its own.</summary>
    public BudgetGate.Part Token { get; } = token;

    public decimal ReservedUsd { get; } = reservedUsd;

    private int _settled;

    /// <summary>True the first time only: a hold is settled exactly once.</summary>
    public bool TryClaimSettlement() => Interlocked.Exchange(ref _settled, 1) == 0;
}
