namespace Roxy.Api.Budgets;

/// <summary>
/// What a request reserved before going upstream: a lease on its tenant's budget grain and, for a budgeted token, one
/// on the token's. Settled once, when the request ends, whatever way it ends.
/// </summary>
public sealed class BudgetHold(string tenantId, long tenantLease, string? tokenId, long tokenLease, decimal reservedUsd)
{
    public string TenantId { get; } = tenantId;

    /// <summary>Zero when the tenant has no budget of its own (only the token does).</summary>
    public long TenantLease { get; } = tenantLease;

    /// <summary>Set when the token has a budget of its own.</summary>
    public string? TokenId { get; } = tokenId;

    public long TokenLease { get; } = tokenLease;

    public decimal ReservedUsd { get; } = reservedUsd;

    private int _settled;

    /// <summary>True the first time only: a hold is settled exactly once.</summary>
    public bool TryClaimSettlement() => Interlocked.Exchange(ref _settled, 1) == 0;
}
