namespace Roxy.Grains.Budgets;

/// <summary>What one budget grain has counted: settled spend in the current UTC day and month, and what is reserved by requests in flight.</summary>
[GenerateSerializer, Immutable, Alias("roxy.BudgetSpend")]
public sealed record BudgetSpend(
    [property: Id(0)] DateOnly Day,
    [property: Id(1)] decimal DaySpentUsd,
    [property: Id(2)] decimal MonthSpentUsd,
    [property: Id(3)] decimal ReservedUsd,
    [property: Id(4)] int Leases);
