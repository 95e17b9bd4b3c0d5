using Microsoft.Extensions.Logging.Abstractions;
using Roxy.Api.Budgets;
using Roxy.Grains;
using Roxy.Grains.Budgets;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>
/// Frontend credits on a budget grain of two silos: held exactly as reservations are, sized to leave room for other
/// holders, shrunk when a limit is lowered, counted once however often a renewal is sent, and released when their
/// frontend stops renewing.
/// </summary>
[Collection(BudgetClusterGroup.Name)]
public sealed class BudgetCreditGrainTests(BudgetClusterFixture fixture)
{
    private IBudgetGrain Budget(string tenant) => fixture.Grains.GetGrain<IBudgetGrain>(GrainKeys.Budget(tenant));

    private static BudgetCreditRenewal Renewal(long id, BudgetLimits limits, decimal spent = 0, decimal acked = 0, decimal inFlight = 0, decimal keep = 0, decimal request = 0.01m, bool release = false) =>
        new(id, limits, spent, acked, inFlight, keep, request, release);

    [Fact]
    public async Task Credits_of_many_frontends_and_reservations_together_never_hold_more_than_the_limit()
    {
        var grain = Budget("credit-many");
        var limits = new BudgetLimits(DailyUsd: 1m, MonthlyUsd: null);
        var credits = new List<BudgetCredit>();
        for (var frontend = 1; frontend <= 8; frontend++)
        {
            credits.Add(await grain.RenewCreditAsync(Renewal(frontend, limits)));
        }

        // The first takes a quarter of the budget at most; later ones a share of what is left, then nothing (too small to be worth it).
        Assert.InRange(credits[0].HeldUsd, 0.04m, 0.25m);
        Assert.Contains(credits, c => c.HeldUsd == 0);
        var held = credits.Sum(c => c.HeldUsd);
        var reserved = 0;
        while ((await grain.ReserveAsync(limits, 0.01m)).Granted)
        {
            reserved++;
        }

        var spend = await grain.GetSpendAsync();
        Assert.Equal(held + (reserved * 0.01m), spend.ReservedUsd);
        Assert.True(spend.ReservedUsd <= 1m, $"held {spend.ReservedUsd}");
        Assert.Equal(credits.Count(c => c.HeldUsd > 0), spend.Credits);
        Assert.Equal(reserved + spend.Credits, spend.Leases);
    }

    [Fact]
    public async Task Spend_reported_with_a_renewal_turns_held_into_spent_and_a_renewal_sent_twice_counts_once()
    {
        var grain = Budget("credit-twice");
        var limits = new BudgetLimits(DailyUsd: 10m, MonthlyUsd: 20m);
        var first = await grain.RenewCreditAsync(Renewal(7, limits));
        Assert.True(first.HeldUsd > 0);

        var again = Renewal(7, limits, spent: 0.30m, acked: 0m, keep: first.HeldUsd - 0.30m);
        var renewed = await grain.RenewCreditAsync(again);
        await grain.RenewCreditAsync(again); // its answer was lost, say: sent again
        Assert.Equal(0.30m, renewed.AppliedSpentUsd);
        var spend = await grain.GetSpendAsync();
        Assert.Equal((0.30m, 0.30m), (spend.DaySpentUsd, spend.MonthSpentUsd));

        var released = await grain.RenewCreditAsync(Renewal(7, limits, spent: 0.45m, acked: 0.30m, release: true));
        Assert.Equal(0m, released.HeldUsd);
        spend = await grain.GetSpendAsync();
        Assert.Equal((0.45m, 0m, 0, 0), (spend.DaySpentUsd, spend.ReservedUsd, spend.Leases, spend.Credits));
    }

    [Fact]
    public async Task A_credit_the_grain_no_longer_knows_counts_only_what_its_frontend_was_not_told_was_applied()
    {
        var grain = Budget("credit-lost");
        var limits = new BudgetLimits(DailyUsd: 10m, MonthlyUsd: null);
        // As after a move: the frontend had 0.20 applied (acked) and spent 0.25 in all.
        await grain.RenewCreditAsync(Renewal(11, limits, spent: 0.25m, acked: 0.20m));
        Assert.Equal(0.05m, (await grain.GetSpendAsync()).DaySpentUsd);
    }

    [Fact]
    public async Task A_lowered_limit_shrinks_the_credit_to_what_is_in_flight_at_once()
    {
        var grain = Budget("credit-lowered");
        var credit = await grain.RenewCreditAsync(Renewal(3, new BudgetLimits(1m, null)));
        Assert.Equal(0.25m, credit.HeldUsd);

        // Lowered by chat or API below what is spent and held: only the two requests in flight stay held.
        var lowered = new BudgetLimits(0.10m, null);
        var shrunk = await grain.RenewCreditAsync(Renewal(3, lowered, spent: 0.08m, inFlight: 0.02m, keep: 0.17m));
        Assert.Equal(0.02m, shrunk.HeldUsd);
        Assert.False((await grain.ReserveAsync(lowered, 0.01m)).Granted);
        var spend = await grain.GetSpendAsync();
        Assert.Equal((0.08m, 0.02m), (spend.DaySpentUsd, spend.ReservedUsd));
    }

    [Fact]
    public async Task A_credit_never_renewed_is_released_after_the_credit_lifetime()
    {
        var grain = Budget("credit-killed");
        var limits = new BudgetLimits(1m, null);
        var held = (await grain.RenewCreditAsync(Renewal(5, limits))).HeldUsd; // then its frontend is SIGKILLed
        Assert.True(held > 0);
        Assert.Equal(1, (await grain.GetSpendAsync()).Credits);

        fixture.Time.Advance(BudgetLedger.CreditLifetime);
        await Eventually.TrueAsync(
            async () =>
            {
                fixture.Time.Advance(BudgetGrain.SavePeriod);
                return (await grain.GetSpendAsync()).Leases == 0;
            },
            TimeSpan.FromSeconds(10), "the credit was not released");
        // The dead frontend may have spent all of it unreported: it counts as spent, and the rest stays free.
        var spend = await grain.GetSpendAsync();
        Assert.Equal(0m, spend.ReservedUsd);
        Assert.Equal(held, spend.DaySpentUsd);
        Assert.False((await grain.ReserveAsync(limits, 1m - held + 0.0001m)).Granted);
        Assert.True((await grain.ReserveAsync(limits, 1m - held)).Granted);
    }

    [Fact]
    public async Task A_frontend_line_draws_on_its_credit_and_stops_when_the_limit_changes()
    {
        var grain = Budget("credit-line");
        var line = new BudgetCreditLine(grain, TimeProvider.System, NullLogger.Instance);
        var limits = new BudgetLimits(1m, null);
        // Two requests in a row make the line busy: it asks for a credit in the background.
        Assert.False(line.TryDraw(limits, 0.01m, out _));
        Assert.False(line.TryDraw(limits, 0.01m, out _));
        await Eventually.TrueAsync(() => Task.FromResult(line.Credit.HeldUsd > 0), because: "no credit was granted");
        Assert.True(line.TryDraw(limits, 0.01m, out var drawn));
        Assert.Equal(1, line.Draws);
        line.Settle(drawn, 0.01m, 0.004m);

        // A changed limit is never drawn against: the caller reserves with the grain until the credit is sized to it.
        var lowered = new BudgetLimits(0.5m, null);
        Assert.False(line.TryDraw(lowered, 0.01m, out _));
        await line.FlushAsync(final: true);
        var spend = await grain.GetSpendAsync();
        Assert.Equal((0.004m, 0m, 0), (spend.DaySpentUsd, spend.ReservedUsd, spend.Credits));
    }
}
