using Roxy.Grains.Budgets;

namespace Roxy.Api.Apis.Admin;

/// <summary>A spending cap in USD per UTC day and per UTC month, as the admin API reads and writes it; null is no limit.</summary>
public sealed record TenantBudget(decimal? DailyUsd, decimal? MonthlyUsd)
{
    public static TenantBudget? From(BudgetLimits? limits) => limits is null ? null : new(limits.DailyUsd, limits.MonthlyUsd);
}
