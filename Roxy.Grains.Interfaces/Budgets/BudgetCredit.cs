namespace Roxy.Grains.Budgets;

/// <summary>
/// The grain's answer to a <see cref="BudgetCreditRenewal"/>: how much it now holds for the frontend's credit (what the
/// frontend may have drawn at once, its unreported spend aside; 0: no credit, reserve per request), and the cumulative
/// spend it has applied for it.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.BudgetCredit")]
public sealed record BudgetCredit(
    [property: Id(0)] decimal HeldUsd,
    [property: Id(1)] decimal AppliedSpentUsd);
