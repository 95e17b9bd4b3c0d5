namespace Roxy.Grains.Budgets;

/// <summary>A spending cap in USD per UTC day and per UTC month; a null limit is no limit.</summary>
[GenerateSerializer, Immutable, Alias("roxy.BudgetLimits")]
public sealed record BudgetLimits(
    [property: Id(0)] decimal? DailyUsd,
    [property: Id(1)] decimal? MonthlyUsd)
{
    public bool IsEmpty => DailyUsd is null && MonthlyUsd is null;
}
