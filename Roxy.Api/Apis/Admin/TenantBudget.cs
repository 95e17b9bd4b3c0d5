using System.Text.Json.Serialization;
using Roxy.Api.Errors;
using Roxy.Grains.Budgets;

namespace Roxy.Api.Apis.Admin;

/// <summary>A spending cap in USD per UTC day and per UTC month, as the admin API reads and writes it; null is no limit.</summary>
/// <param name="DailyUsd">USD per UTC day, 0 or more; null (or absent) is no daily limit.</param>
/// <param name="MonthlyUsd">USD per UTC month, 0 or more; null (or absent) is no monthly limit.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record TenantBudget(decimal? DailyUsd = null, decimal? MonthlyUsd = null)
{
    public static TenantBudget Example { get; } = new(5, 100);

    public static TenantBudget? From(BudgetLimits? limits) => limits is null ? null : new(limits.DailyUsd, limits.MonthlyUsd);

    /// <summary>
    /// The limits to store (no limit set: no budget at all), or a 400 for a negative one; <paramref name="at"/> is where
    /// the budget stands in the body ("" for the whole body, "budget." inside a token's), for the error's param.
    /// </summary>
    public (BudgetLimits? Limits, ProxyError? Error) ToLimits(string at)
    {
        if ((Negative(DailyUsd, at + "daily_usd") ?? Negative(MonthlyUsd, at + "monthly_usd")) is { } error)
        {
            return (null, error);
        }

        return (DailyUsd is null && MonthlyUsd is null ? null : new BudgetLimits(DailyUsd, MonthlyUsd), null);
    }

    private static ProxyError? Negative(decimal? usd, string param) =>
        usd < 0 ? ProxyError.InvalidRequest($"'{param}' must be 0 or more; null removes the limit.", param) : null;
}
