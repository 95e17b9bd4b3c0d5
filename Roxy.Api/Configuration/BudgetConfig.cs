namespace Roxy.Api.Configuration;

/// <summary>
/// <c>budget: { daily_usd, monthly_usd }</c> on a tenant, on a token, or at the top level (tenant <c>default</c>'s);
/// each limit is optional, and a window without one is not limited.
/// </summary>
public sealed class BudgetConfig
{
    /// <summary>USD per UTC day (resets at midnight UTC).</summary>
    public double? DailyUsd { get; set; }

    /// <summary>USD per UTC month (resets on the 1st, 00:00 UTC).</summary>
    public double? MonthlyUsd { get; set; }
}
