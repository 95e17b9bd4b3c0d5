namespace Roxy.Api.Budgets;

/// <summary>What <see cref="BudgetGate.Check"/> found on a tenant snapshot for a request.</summary>
public enum BudgetCheck
{
    /// <summary>Neither the tenant nor the caller's token has a budget: nothing to reserve.</summary>
    None,

    /// <summary>The tenant or the caller's token has a budget: the worst case is reserved first.</summary>
    Applies,

    /// <summary>
    /// The snapshot does not list the caller's token: issued a moment ago on another frontend (whose token directory
    /// this one already read), so the snapshot is read again before the token's own budget can be known.
    /// </summary>
    UnlistedToken,
}
