namespace Roxy.Grains.Budgets;

/// <summary>
/// What one budget grain has counted: settled spend in the current UTC day and month, and what is reserved by requests in
/// flight and by frontends' credits. <see cref="Leases"/> counts both kinds of hold (0: every hold is back, and with it
/// every spend a frontend had to report); <see cref="Credits"/> the credits alone.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.BudgetSpend")]
public sealed record BudgetSpend(
    [property: Id(0)] DateOnly Day,
    [property: Id(1)] decimal DaySpentUsd,
    [property: Id(2)] decimal MonthSpentUsd,
    [property: Id(3)] decimal ReservedUsd,
    [property: Id(4)] int Leases,
    [property: Id(5)] int Credits = 0);
