using Microsoft.Extensions.Time.Testing;
using Roxy.Grains.Budgets;

namespace Roxy.Tests.Unit.Budgets;

/// <summary>The budget arithmetic: holds, settlement, refusals and the UTC windows, on a fake clock.</summary>
public sealed class BudgetLedgerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 30, 22, 0, 0, TimeSpan.Zero));

    private BudgetLedger NewLedger()
    {
        var ledger = new BudgetLedger(_time);
        ledger.Restore(null);
        return ledger;
    }

    [Fact]
    public void Holds_count_against_the_limit_until_settled_to_the_real_cost()
    {
        var ledger = NewLedger();
        var limits = new BudgetLimits(DailyUsd: 1.00m, MonthlyUsd: null);

        var first = ledger.Reserve(limits, 0.60m);
        Assert.True(first.Granted);
        Assert.NotEqual(0, first.LeaseId);
        // 0.60 held + 0.60 more would pass 1.00: refused while the first is in flight.
        var second = ledger.Reserve(limits, 0.60m);
        Assert.False(second.Granted);
        Assert.Equal((BudgetWindow.Daily, 1.00m, 0.60m), (second.Window, second.LimitUsd, second.SpentUsd));

        ledger.Settle(first.LeaseId, 0.10m);
        Assert.Equal(new BudgetSpend(new DateOnly(2026, 3, 30), 0.10m, 0.10m, 0, 0), ledger.Spend());
        Assert.True(ledger.Reserve(limits, 0.60m).Granted);
        Assert.True(ledger.Dirty);
    }

    [Fact]
    public void A_reservation_that_exactly_fills_the_limit_is_granted_and_nothing_is_left_after_it()
    {
        var ledger = NewLedger();
        var limits = new BudgetLimits(0.30m, null);
        for (var i = 0; i < 3; i++)
        {
            var lease = ledger.Reserve(limits, 0.10m);
            Assert.True(lease.Granted);
            ledger.Settle(lease.LeaseId, 0.10m);
        }

        // Spent to the cent: even a request that costs nothing (an unpriced model) is refused now.
        Assert.False(ledger.Reserve(limits, 0.10m).Granted);
        Assert.False(ledger.Reserve(limits, 0).Granted);
    }

    [Fact]
    public void An_unknown_lease_still_counts_its_spend_and_a_negative_cost_counts_nothing()
    {
        var ledger = NewLedger();
        ledger.Settle(123456, 0.25m);
        ledger.Settle(654321, -5m);
        Assert.Equal((0.25m, 0.25m, 0m), (ledger.Spend().DaySpentUsd, ledger.Spend().MonthSpentUsd, ledger.Spend().ReservedUsd));
    }

    [Fact]
    public void The_month_is_checked_first_so_the_refusal_names_the_window_that_must_reset()
    {
        var ledger = NewLedger();
        ledger.Settle(1, 4.50m);
        var refusal = ledger.Reserve(new BudgetLimits(DailyUsd: 5m, MonthlyUsd: 5m), 1m);

        Assert.False(refusal.Granted);
        Assert.Equal((BudgetWindow.Monthly, 5m, 4.50m), (refusal.Window, refusal.LimitUsd, refusal.SpentUsd));
        Assert.Equal(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero), refusal.ResetsAt);

        var daily = ledger.Reserve(new BudgetLimits(DailyUsd: 5m, MonthlyUsd: 100m), 1m);
        Assert.Equal((BudgetWindow.Daily, new DateTimeOffset(2026, 3, 31, 0, 0, 0, TimeSpan.Zero)), (daily.Window, daily.ResetsAt));
    }

    [Fact]
    public void A_new_UTC_day_starts_at_zero_and_a_new_month_on_the_first()
    {
        var ledger = NewLedger();
        var limits = new BudgetLimits(DailyUsd: 1m, MonthlyUsd: 1.5m);
        ledger.Settle(ledger.Reserve(limits, 1m).LeaseId, 1m);
        Assert.False(ledger.Reserve(limits, 0.01m).Granted);

        _time.Advance(TimeSpan.FromHours(2) - TimeSpan.FromTicks(1)); // 23:59:59.9999999 on the 30th
        Assert.False(ledger.Reserve(limits, 0.01m).Granted);
        _time.Advance(TimeSpan.FromTicks(1)); // midnight UTC: the 31st
        Assert.Equal(new BudgetSpend(new DateOnly(2026, 3, 31), 0, 1m, 0, 0), ledger.Spend());
        var today = ledger.Reserve(limits, 0.5m);
        Assert.True(today.Granted);
        ledger.Settle(today.LeaseId, 0.5m);
        // The day has room, the month (1.5) does not.
        var refusal = ledger.Reserve(limits, 0.01m);
        Assert.Equal(BudgetWindow.Monthly, refusal.Window);

        _time.Advance(TimeSpan.FromDays(1)); // April 1st
        Assert.Equal(new BudgetSpend(new DateOnly(2026, 4, 1), 0, 0, 0, 0), ledger.Spend());
        Assert.True(ledger.Reserve(limits, 1m).Granted);
    }

    [Fact]
    public void Holds_never_settled_expire_after_the_lease_lifetime()
    {
        var ledger = NewLedger();
        var limits = new BudgetLimits(1m, null);
        Assert.True(ledger.Reserve(limits, 0.9m).Granted); // its frontend dies: never settled
        _time.Advance(TimeSpan.FromMinutes(10));
        var young = ledger.Reserve(new BudgetLimits(2m, null), 0.5m);
        Assert.False(ledger.Reserve(limits, 0.5m).Granted);

        _time.Advance(BudgetLedger.LeaseLifetime - TimeSpan.FromMinutes(10));
        Assert.Equal(1, ledger.ExpireLeases());
        Assert.Equal((0.5m, 1), (ledger.Spend().ReservedUsd, ledger.Spend().Leases));

        // The young hold is still there, and settling the expired one later still counts what it spent.
        ledger.Settle(young.LeaseId, 0.2m);
        Assert.Equal((0.2m, 0m, 0), (ledger.Spend().DaySpentUsd, ledger.Spend().ReservedUsd, ledger.Spend().Leases));
    }

    [Fact]
    public void Restored_spend_of_an_earlier_day_rolls_over_and_written_state_clears_dirty()
    {
        var ledger = new BudgetLedger(_time);
        ledger.Restore(new BudgetState { Day = new DateOnly(2026, 3, 29), DaySpentUsd = 3m, MonthSpentUsd = 7m });
        Assert.Equal(new BudgetSpend(new DateOnly(2026, 3, 30), 0, 7m, 0, 0), ledger.Spend());
        Assert.True(ledger.Dirty);

        var state = new BudgetState();
        ledger.WriteTo(state);
        Assert.False(ledger.Dirty);
        Assert.Equal((new DateOnly(2026, 3, 30), 0m, 7m), (state.Day, state.DaySpentUsd, state.MonthSpentUsd));

        var fresh = new BudgetLedger(_time);
        fresh.Restore(null);
        Assert.False(fresh.Dirty);
    }
}
