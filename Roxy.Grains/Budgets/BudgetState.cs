namespace Roxy.Grains.Budgets;

/// <summary>
/// What a budget grain persists: the settled spend of the current UTC day and of its month. Holds are not persisted:
/// they belong to requests in flight, which settle their real cost whichever activation they meet.
/// </summary>
[GenerateSerializer]
public sealed class BudgetState
{
    /// <summary>The UTC day <see cref="DaySpentUsd"/> is about; its month is the one <see cref="MonthSpentUsd"/> is about.</summary>
    [Id(0)] public DateOnly Day { get; set; }
    [Id(1)] public decimal DaySpentUsd { get; set; }
    [Id(2)] public decimal MonthSpentUsd { get; set; }
}
