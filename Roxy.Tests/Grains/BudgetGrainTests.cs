using Microsoft.Extensions.DependencyInjection;
using Roxy.Grains;
using Roxy.Grains.Budgets;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>The budget grain as a silo runs it: one truth for concurrent callers, UTC windows on the silo's clock, spend persisted in batches.</summary>
[Collection(BudgetClusterGroup.Name)]
public sealed class BudgetGrainTests(BudgetClusterFixture fixture)
{
    private IBudgetGrain Budget(string tenant, string? token = null) => fixture.Grains.GetGrain<IBudgetGrain>(GrainKeys.Budget(tenant, token));

    [Fact]
    public async Task Concurrent_reservations_from_two_clients_never_hold_more_than_the_limit()
    {
        var limits = new BudgetLimits(DailyUsd: 5m, MonthlyUsd: null);
        // Two silos, each with its own reference: calls from both meet the one activation.
        var viaSilos = fixture.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<IGrainFactory>()).ToArray();
        var attempts = Enumerable.Range(0, 200)
            .Select(i => viaSilos[i % 2].GetGrain<IBudgetGrain>(GrainKeys.Budget("concurrent")).ReserveAsync(limits, 0.10m))
            .ToArray();
        var results = await Task.WhenAll(attempts);

        Assert.Equal(50, results.Count(r => r.Granted));
        Assert.Equal(50, results.Where(r => r.Granted).Select(r => r.LeaseId).Distinct().Count());
        var spend = await Budget("concurrent").GetSpendAsync();
        Assert.Equal((5.00m, 50), (spend.ReservedUsd, spend.Leases));

        foreach (var granted in results.Where(r => r.Granted))
        {
            await Budget("concurrent").SettleAsync(granted.LeaseId, 0.04m);
        }

        // Settles are one-way: they are on their way when the awaits return.
        await Eventually.TrueAsync(async () => (await Budget("concurrent").GetSpendAsync()).Leases == 0);
        Assert.Equal(2.00m, (await Budget("concurrent").GetSpendAsync()).DaySpentUsd);
    }

    [Fact]
    public async Task A_token_budget_is_a_grain_of_its_own()
    {
        var limits = new BudgetLimits(1m, null);
        var token = await Budget("own", "t-abc").ReserveAsync(limits, 1m);
        var tenant = await Budget("own").ReserveAsync(limits, 1m);

        Assert.True(token.Granted && tenant.Granted);
        Assert.False((await Budget("own", "t-abc").ReserveAsync(limits, 0.5m)).Granted);
        Assert.False((await Budget("own").ReserveAsync(limits, 0.5m)).Granted);
        Assert.True((await Budget("own", "t-other").ReserveAsync(limits, 0.5m)).Granted);
    }

    [Fact]
    public async Task The_daily_window_resets_at_UTC_midnight_and_the_monthly_on_the_first()
    {
        var grain = Budget("windows");
        var limits = new BudgetLimits(DailyUsd: 1m, MonthlyUsd: 1.5m);
        var now = fixture.Time.GetUtcNow();
        var midnight = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);

        var lease = await grain.ReserveAsync(limits, 1m);
        await grain.SettleAsync(lease.LeaseId, 1m);
        var refused = await grain.ReserveAsync(limits, 0.01m);
        Assert.False(refused.Granted);
        Assert.Equal((BudgetWindow.Daily, midnight), (refused.Window, refused.ResetsAt));

        fixture.Time.SetUtcNow(midnight - TimeSpan.FromSeconds(1));
        Assert.False((await grain.ReserveAsync(limits, 0.01m)).Granted);
        fixture.Time.SetUtcNow(midnight);
        var spend = await grain.GetSpendAsync();
        Assert.Equal((DateOnly.FromDateTime(midnight.UtcDateTime), 0m, 1m), (spend.Day, spend.DaySpentUsd, spend.MonthSpentUsd));
        lease = await grain.ReserveAsync(limits, 0.5m);
        Assert.True(lease.Granted);
        await grain.SettleAsync(lease.LeaseId, 0.5m);

        // The day has room again; the month is spent until the 1st.
        var firstOfNextMonth = new DateTimeOffset(midnight.Year, midnight.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        var monthly = await grain.ReserveAsync(limits, 0.01m);
        Assert.Equal((false, BudgetWindow.Monthly, 1.5m, 1.5m, firstOfNextMonth), (monthly.Granted, monthly.Window, monthly.LimitUsd, monthly.SpentUsd, monthly.ResetsAt));

        fixture.Time.SetUtcNow(firstOfNextMonth);
        spend = await grain.GetSpendAsync();
        Assert.Equal((0m, 0m), (spend.DaySpentUsd, spend.MonthSpentUsd));
        Assert.True((await grain.ReserveAsync(limits, 1m)).Granted);
    }

    [Fact]
    public async Task Spend_is_written_by_the_timer_survives_deactivation_and_holds_do_not()
    {
        const string key = "persisted";
        var grain = Budget(key);
        var limits = new BudgetLimits(null, 10m);
        var settled = await grain.ReserveAsync(limits, 2m);
        await grain.SettleAsync(settled.LeaseId, 1.25m);
        var inFlight = await grain.ReserveAsync(limits, 3m);
        Assert.True(inFlight.Granted);
        await Eventually.TrueAsync(async () => (await grain.GetSpendAsync()).MonthSpentUsd == 1.25m);

        // Grain timers run on the silos' clock, the fixture's fake one: each poll moves it on by a period.
        await Eventually.TrueAsync(
            async () =>
            {
                fixture.Time.Advance(BudgetGrain.SavePeriod);
                return (await fixture.StoredAsync(key))?.Contains("\"MonthSpentUsd\":1.25", StringComparison.Ordinal) == true;
            },
            TimeSpan.FromSeconds(10), "the timer did not persist the spend");

        await grain.SettleAsync(123, 0.5m); // after the last tick: written on the way out
        await Eventually.TrueAsync(async () => (await grain.GetSpendAsync()).MonthSpentUsd == 1.75m);
        await fixture.Cluster.DeactivateAsync(grain);

        var after = await grain.GetSpendAsync();
        Assert.Equal((1.75m, 0m, 0), (after.MonthSpentUsd, after.ReservedUsd, after.Leases));
        // The request that was in flight settles into the new activation: its real cost still counts.
        await grain.SettleAsync(inFlight.LeaseId, 2.5m);
        await Eventually.TrueAsync(async () => (await grain.GetSpendAsync()).MonthSpentUsd == 4.25m);
    }

    [Fact]
    public async Task A_hold_never_settled_is_released_by_the_timer_after_the_lease_lifetime()
    {
        var grain = Budget("abandoned");
        var limits = new BudgetLimits(1m, null);
        Assert.True((await grain.ReserveAsync(limits, 0.8m)).Granted); // its frontend dies
        Assert.False((await grain.ReserveAsync(limits, 0.8m)).Granted);

        fixture.Time.Advance(BudgetLedger.LeaseLifetime);
        await Eventually.TrueAsync(
            async () =>
            {
                fixture.Time.Advance(BudgetGrain.SavePeriod);
                return (await grain.GetSpendAsync()).Leases == 0;
            },
            TimeSpan.FromSeconds(10), "the hold was not released");
        Assert.True((await grain.ReserveAsync(limits, 0.8m)).Granted);
    }

    [Fact]
    public async Task Reset_forgets_spend_holds_and_the_stored_row()
    {
        const string key = "reset";
        var grain = Budget(key);
        var lease = await grain.ReserveAsync(new BudgetLimits(5m, null), 1m);
        await grain.SettleAsync(lease.LeaseId, 1m);
        await grain.ReserveAsync(new BudgetLimits(5m, null), 1m);
        await Eventually.TrueAsync(
            async () =>
            {
                fixture.Time.Advance(BudgetGrain.SavePeriod);
                return await fixture.StoredAsync(key) is not null;
            },
            TimeSpan.FromSeconds(10), "the spend was not stored");

        await grain.ResetAsync();

        var spend = await grain.GetSpendAsync();
        Assert.Equal((0m, 0m, 0m, 0), (spend.DaySpentUsd, spend.MonthSpentUsd, spend.ReservedUsd, spend.Leases));
        Assert.Null(await fixture.StoredAsync(key));
        await fixture.Cluster.DeactivateAsync(grain);
        Assert.Equal(0m, (await grain.GetSpendAsync()).MonthSpentUsd);
    }
}
