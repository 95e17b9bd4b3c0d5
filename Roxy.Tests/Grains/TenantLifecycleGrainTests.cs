using Roxy.Grains;
using Roxy.Grains.Budgets;
using Roxy.Grains.Caching;
using Roxy.Grains.Keys;
using Roxy.Grains.Rotation;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>Runtime tenants (create, delete, recreate) and issued tokens, on two silos with real PostgreSQL.</summary>
public sealed class TenantLifecycleGrainTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private static AuditEntry Audit(string action) => new(DateTimeOffset.UnixEpoch, "operator", "api", action);

    private ITenantGrain Tenant(string id) => fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(id));

    private ITenantRegistryGrain Registry => fixture.Grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry);

    private static TenantToken Token(string id, TenantRole role = TenantRole.Admin) =>
        new(id, new string('a', 54) + id.PadLeft(10, '0')[^10..], role, Owner.Runtime, "n", DateTimeOffset.UnixEpoch);

    private async Task<bool> InDirectoryAsync(string tokenId) => (await Registry.GetTokenDirectoryAsync()).Entries.Any(e => e.TokenId == tokenId);

    [Fact]
    public async Task Create_makes_an_empty_runtime_tenant_once()
    {
        var tenant = Tenant("life-create");
        Assert.Equal(TenantChangeStatus.Done, await tenant.CreateAsync(Audit("create tenant life-create")));
        var snapshot = await tenant.GetSnapshotAsync();
        Assert.True(snapshot.Exists);
        Assert.Equal(Owner.Runtime, snapshot.Owner);
        Assert.True(snapshot.Cache.Enabled);
        Assert.Empty(snapshot.Tokens);
        Assert.Equal(TenantChangeStatus.AlreadyExists, await tenant.CreateAsync(Audit("again")));

        var listed = Assert.Single(await Registry.ListTenantsAsync(), t => t.Id == "life-create");
        Assert.Equal((Owner.Runtime, 0), (listed.Owner, listed.TokenCount));
    }

    [Fact]
    public async Task A_config_tenant_cannot_be_created_again_or_deleted()
    {
        var tenant = Tenant("life-configured");
        await tenant.ApplyConfigAsync(new TenantConfigSnapshot("f", [Token("t-cfg0000001") with { Owner = Owner.Config }], [], [], new CacheSettings(true, 3600, false), true));
        var configured = (await Registry.ListTenantsAsync()).Where(t => t.Owner == Owner.Config).Select(t => t.Id).Append("life-configured").ToArray();
        await Registry.SetConfiguredTenantsAsync(configured, "f");

        Assert.False(await Registry.AddRuntimeTenantAsync("life-configured"));
        Assert.Equal(TenantChangeStatus.AlreadyExists, await tenant.CreateAsync(Audit("create")));
        Assert.Equal(TenantChangeStatus.ConfigOwned, await tenant.DeleteAsync(Audit("delete")));
        Assert.Equal(TokenChangeStatus.ConfigOwned, (await tenant.RevokeTokenAsync("t-cfg0000001", Audit("revoke"))).Status);
        Assert.True(await InDirectoryAsync("t-cfg0000001"));
        var listed = Assert.Single(await Registry.ListTenantsAsync(), t => t.Id == "life-configured");
        Assert.Equal((Owner.Config, 1), (listed.Owner, listed.TokenCount));
    }

    [Fact]
    public async Task Issue_and_revoke_reach_the_directory_before_they_return()
    {
        var tenant = Tenant("life-tokens");
        Assert.Equal(TokenChangeStatus.TenantNotFound, (await tenant.IssueTokenAsync(Token("t-life000001"), Audit("issue"))).Status);
        await tenant.CreateAsync(Audit("create"));

        var issued = await tenant.IssueTokenAsync(Token("t-life000001") with { Owner = Owner.Config }, Audit("issue token t-life000001"));
        Assert.Equal(TokenChangeStatus.Done, issued.Status);
        Assert.Equal(Owner.Runtime, issued.Token!.Owner);
        Assert.True(await InDirectoryAsync("t-life000001"));
        Assert.Equal(TokenChangeStatus.AlreadyPresent, (await tenant.IssueTokenAsync(Token("t-life000001"), Audit("again"))).Status);

        Assert.Equal(TokenChangeStatus.Done, (await tenant.RevokeTokenAsync("t-life000001", Audit("revoke token t-life000001"))).Status);
        Assert.False(await InDirectoryAsync("t-life000001"));
        Assert.Equal(TokenChangeStatus.NotFound, (await tenant.RevokeTokenAsync("t-life000001", Audit("again"))).Status);
        Assert.Equal(["revoke token t-life000001", "issue token t-life000001", "create"], (await tenant.GetAuditAsync(10)).Select(a => a.Action).ToArray());
    }

    [Fact]
    public async Task Delete_removes_tokens_keys_and_rules_and_a_recreated_tenant_starts_empty_past_the_old_generation()
    {
        var tenant = Tenant("life-delete");
        await tenant.CreateAsync(Audit("create"));
        await tenant.IssueTokenAsync(Token("t-dele000001"), Audit("issue"));
        var key = new ProviderKey("k-life", "openai", "fp-life-delete-key", KeySource.Chat, "enc:unused", "sk-...abcd", 100, 100000, 30, Owner.Runtime, true, null);
        Assert.Equal(KeyChangeStatus.Done, (await tenant.AddKeyAsync(key, Audit("add key"))).Status);
        Assert.Equal(RuleChangeStatus.Done, (await tenant.AddRuleTargetAsync("fast", new RuleTarget("openai", "gpt-4o-mini"), null, Audit("add model"))).Status);
        await tenant.ClearCacheAsync(Audit("cache clear"));
        var generation = (await tenant.GetSnapshotAsync()).CacheGeneration;

        // Cache stats the old owner ran up, stored (not only held in memory), and its audit log.
        var stats = fixture.Grains.GetGrain<ICacheStatsGrain>(GrainKeys.CacheStats("life-delete"));
        await stats.RecordAsync(new CacheStatsDelta(3, 2, [new ModelSavings("openai", "gpt-4o-mini", 3, 300, 30)]));
        await Eventually.TrueAsync(async () => await fixture.StoredJsonAsync("cachestats", "life-delete") is { } json && json.Contains("\"Hits\":3", StringComparison.Ordinal),
            because: "the stats grain stores its counters");
        Assert.Equal(5, (await tenant.GetAuditAsync(10)).Count);

        Assert.Equal(TenantChangeStatus.Done, await tenant.DeleteAsync(Audit("delete tenant life-delete")));
        var gone = await tenant.GetSnapshotAsync();
        Assert.False(gone.Exists);
        Assert.Empty(gone.Tokens);
        Assert.Empty(gone.Keys);
        Assert.Empty(gone.Rules);
        Assert.False(await InDirectoryAsync("t-dele000001"));
        Assert.DoesNotContain(await Registry.ListTenantsAsync(), t => t.Id == "life-delete");
        Assert.Null(await fixture.Grains.GetGrain<IApiKeyGrain>("fp-life-delete-key").GetHolderTenantAsync());
        Assert.Null((await fixture.Grains.GetGrain<IModelRuleGrain>(GrainKeys.ModelRule("life-delete", "fast")).GetAsync()).Rule);
        Assert.Equal(TenantChangeStatus.NotFound, await tenant.DeleteAsync(Audit("again")));

        // The key is free for another tenant now.
        var other = Tenant("life-delete-other");
        await other.CreateAsync(Audit("create"));
        Assert.Equal(KeyChangeStatus.Done, (await other.AddKeyAsync(key with { Id = "k-other" }, Audit("add key"))).Status);

        Assert.Equal(TenantChangeStatus.Done, await tenant.CreateAsync(Audit("create again")));
        var fresh = await tenant.GetSnapshotAsync();
        Assert.True(fresh.Exists);
        Assert.Empty(fresh.Tokens);
        Assert.Empty(fresh.Keys);
        Assert.Empty(fresh.Rules);
        Assert.True(fresh.CacheGeneration > generation, "the generation carries on past the deleted tenant's");

        // No history of the old owner: its audit log and cache stats went with it, also once the stats grain reloads.
        Assert.Equal(["create again"], (await tenant.GetAuditAsync(10)).Select(a => a.Action).ToArray());
        await fixture.Cluster.DeactivateAsync(stats);
        var freshStats = await stats.GetAsync(fresh.CacheGeneration);
        Assert.Equal((0L, 0L), (freshStats.Hits, freshStats.Misses));
        Assert.Empty(freshStats.Savings);
    }

    [Fact]
    public async Task A_deleted_tenant_refuses_every_change_and_stays_deleted()
    {
        var tenant = Tenant("life-ghost");
        await tenant.CreateAsync(Audit("create"));
        var key = new ProviderKey("k-ghost00001", "openai", "fp-life-ghost-key", KeySource.Chat, "enc:unused", "sk-...ghst", 100, 100000, 30, Owner.Runtime, true, null);
        await tenant.AddKeyAsync(key, Audit("add key"));
        await tenant.IssueTokenAsync(Token("t-ghos000001"), Audit("issue"));
        Assert.Equal(TenantChangeStatus.Done, await tenant.DeleteAsync(Audit("delete tenant life-ghost")));

        // What a frontend with a stale snapshot, or a request racing the DELETE, may still send.
        var rule = new ModelRule("fast", [new RuleTarget("openai", "gpt-4o-mini")], SelectionPolicy.Fallback, false, Owner.Runtime);
        Assert.Equal(KeyChangeStatus.TenantNotFound, (await tenant.AddKeyAsync(key, Audit("add key"))).Status);
        Assert.Equal(KeyChangeStatus.TenantNotFound, (await tenant.RemoveKeyAsync(key.Id, Audit("remove key"))).Status);
        Assert.False(await tenant.SetKeyEnabledAsync(key.Id, false, "admin", Audit("disable key")));
        Assert.False(await tenant.SetKeyEnabledAsync(key.Id, false, "auth")); // a provider's refusal, from a rotation grain
        Assert.False(await tenant.ReenableRefusedKeyAsync(key.Id));
        Assert.Equal(RuleChangeStatus.TenantNotFound, (await tenant.AddRuleTargetAsync("fast", new RuleTarget("openai", "gpt-4o"), null, Audit("add model"))).Status);
        Assert.Equal(RuleChangeStatus.TenantNotFound, (await tenant.SetRuleAsync(rule, Audit("put model"))).Status);
        Assert.Equal(RuleChangeStatus.TenantNotFound, (await tenant.RemoveRuleAsync("fast", null, Audit("remove model"))).Status);
        Assert.Null(await tenant.ClearCacheAsync(Audit("cache clear")));
        Assert.Equal(TokenChangeStatus.TenantNotFound, (await tenant.IssueTokenAsync(Token("t-ghos000002"), Audit("issue"))).Status);
        Assert.Equal(TokenChangeStatus.TenantNotFound, (await tenant.RevokeTokenAsync("t-ghos000001", Audit("revoke"))).Status);
        Assert.Equal(TenantChangeStatus.NotFound, await tenant.SetBudgetAsync(new BudgetLimits(5, null), Audit("set budget")));

        // Still deleted, in memory, in its row (after a reload) and in the registry; nothing claimed, written or audited.
        await fixture.Cluster.DeactivateAsync(tenant);
        var gone = await tenant.GetSnapshotAsync();
        Assert.False(gone.Exists);
        Assert.Empty(gone.Keys);
        Assert.Empty(gone.Rules);
        Assert.Empty(gone.Tokens);
        Assert.Null(gone.Budget);
        Assert.DoesNotContain(await Registry.ListTenantsAsync(), t => t.Id == "life-ghost");
        Assert.False(await InDirectoryAsync("t-ghos000002"));
        Assert.Null(await fixture.Grains.GetGrain<IApiKeyGrain>(key.Fingerprint).GetHolderTenantAsync());
        Assert.Null((await fixture.Grains.GetGrain<IModelRuleGrain>(GrainKeys.ModelRule("life-ghost", "fast")).GetAsync()).Rule);
        Assert.Empty(await tenant.GetAuditAsync(10));
    }
}
