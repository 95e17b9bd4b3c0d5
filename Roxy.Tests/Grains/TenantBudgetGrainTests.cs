using Roxy.Grains;
using Roxy.Grains.Budgets;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>The tenant's budget setting: a config budget is config-owned and wins; a runtime one survives config applies without one.</summary>
public sealed class TenantBudgetGrainTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private static readonly AuditEntry Audit = new(DateTimeOffset.UnixEpoch, "operator", "api", "set tenant budget");

    private ITenantGrain Tenant(string id) => fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(id));

    private static TenantConfigSnapshot Config(BudgetLimits? budget) =>
        new("fingerprint", [], [], [], new CacheSettings(true, 3600, false), true, budget);

    [Fact]
    public async Task A_config_budget_is_config_owned_and_goes_when_the_config_drops_it()
    {
        var tenant = Tenant("budget-config");
        await tenant.ApplyConfigAsync(Config(new BudgetLimits(5m, 100m)));
        var snapshot = await tenant.GetSnapshotAsync();
        Assert.Equal(new BudgetLimits(5m, 100m), snapshot.Budget);
        Assert.Equal(Owner.Config, snapshot.Owner);
        Assert.Equal(TenantChangeStatus.ConfigOwned, await tenant.SetBudgetAsync(new BudgetLimits(50m, null), Audit));
        Assert.Equal(new BudgetLimits(5m, 100m), (await tenant.GetSnapshotAsync()).Budget);

        await tenant.ApplyConfigAsync(Config(null));
        Assert.Null((await tenant.GetSnapshotAsync()).Budget);
        Assert.Equal(TenantChangeStatus.Done, await tenant.SetBudgetAsync(new BudgetLimits(2m, null), Audit));
        Assert.Equal(new BudgetLimits(2m, null), (await tenant.GetSnapshotAsync()).Budget);
    }

    [Fact]
    public async Task A_runtime_budget_survives_a_config_without_one_and_yields_to_one_with_one()
    {
        var tenant = Tenant("budget-runtime");
        await tenant.ApplyConfigAsync(Config(null));
        Assert.Equal(TenantChangeStatus.Done, await tenant.SetBudgetAsync(new BudgetLimits(null, 30m), Audit));

        await tenant.ApplyConfigAsync(Config(null));
        Assert.Equal(new BudgetLimits(null, 30m), (await tenant.GetSnapshotAsync()).Budget);

        await tenant.ApplyConfigAsync(Config(new BudgetLimits(1m, 10m)));
        Assert.Equal(new BudgetLimits(1m, 10m), (await tenant.GetSnapshotAsync()).Budget);
        Assert.Equal(TenantChangeStatus.ConfigOwned, await tenant.SetBudgetAsync(null, Audit));
    }

    [Fact]
    public async Task Null_removes_the_budget_and_is_audited_once_and_persisted()
    {
        var tenant = Tenant("budget-remove");
        await tenant.ApplyConfigAsync(Config(null));
        await tenant.SetBudgetAsync(new BudgetLimits(3m, null), Audit);
        Assert.Equal(TenantChangeStatus.Done, await tenant.SetBudgetAsync(null, Audit with { Action = "remove tenant budget" }));
        // Nothing left to remove: not a change, not audited again.
        Assert.Equal(TenantChangeStatus.Done, await tenant.SetBudgetAsync(new BudgetLimits(null, null), Audit with { Action = "again" }));
        Assert.Null((await tenant.GetSnapshotAsync()).Budget);

        var audit = await tenant.GetAuditAsync(10);
        Assert.Equal(["remove tenant budget", "set tenant budget"], audit.Select(a => a.Action).ToArray());
        var stored = await fixture.StoredJsonAsync("tenant", "budget-remove");
        Assert.NotNull(stored);
        Assert.Equal(TenantChangeStatus.NotFound, await Tenant("budget-never-made").SetBudgetAsync(new BudgetLimits(1m, null), Audit));
    }
}
