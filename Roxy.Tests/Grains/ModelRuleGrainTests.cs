using System.Text.Json.Nodes;
using Roxy.Grains;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>
/// Model rules live in one grain per (tenant, source model) on PostgreSQL; the tenant keeps only their index, and every
/// change goes through the tenant so index and rules move together. Two silos, real storage.
/// </summary>
public sealed class ModelRuleGrainTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private static readonly AuditEntry Audit = new(DateTimeOffset.UnixEpoch, "t-test", "chat", "test");

    private static ModelRule Rule(string source, SelectionPolicy policy, params RuleTarget[] targets) =>
        new(source, targets, policy, false, Owner.Config);

    private static TenantConfigSnapshot Config(params ModelRule[] rules) =>
        new("fingerprint", [], [], rules, new CacheSettings(true, 3600, false), true);

    private ITenantGrain Tenant(string id) => fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(id));

    private IModelRuleGrain RuleGrain(string tenant, string source) => fixture.Grains.GetGrain<IModelRuleGrain>(GrainKeys.ModelRule(tenant, source));

    [Fact]
    public async Task Rule_grain_persists_its_rule_and_version_and_skips_writes_that_change_nothing()
    {
        var grain = RuleGrain("solo", "openai/gpt:odd");
        var rule = Rule("openai/gpt:odd", SelectionPolicy.RoundRobin, new RuleTarget("openai", "gpt-4o"), new RuleTarget(null, "llama3:8b"));

        Assert.Equal(0, await grain.SetAsync(null)); // removing what was never there writes nothing
        Assert.Null(await fixture.StoredJsonAsync("modelrule", "solo/openai/gpt:odd"));
        Assert.Equal(1, await grain.SetAsync(rule));
        Assert.Equal(1, await grain.SetAsync(rule with { Targets = [.. rule.Targets] })); // equal by value: not rewritten
        Assert.Equal(2, await grain.SetAsync(rule with { Policy = SelectionPolicy.Random }));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => grain.SetAsync(Rule("other", SelectionPolicy.Fallback, new RuleTarget(null, "x"))));

        await fixture.Cluster.DeactivateAsync(grain);
        var stored = await grain.GetAsync();
        Assert.Equal(2, stored.Version);
        Assert.Equal(SelectionPolicy.Random, stored.Rule!.Policy);
        Assert.Equal(rule.Targets, stored.Rule.Targets);

        Assert.Equal(3, await grain.SetAsync(null));
        await fixture.Cluster.DeactivateAsync(grain);
        Assert.Equal(new VersionedRule(null, 3), await grain.GetAsync()); // a removal keeps the version: none repeats
    }

    [Fact]
    public async Task Tenant_keeps_only_the_index_and_config_apply_changes_only_config_owned_rules()
    {
        var tenant = Tenant("index");
        var configRule = Rule("house", SelectionPolicy.Fallback, new RuleTarget("openai", "only-in-the-rule-grain"));
        var applied = await tenant.ApplyConfigAsync(Config(configRule));
        Assert.Equal(1, applied.Added);
        var added = await tenant.AddRuleTargetAsync("chat-rule", new RuleTarget(null, "chat-target-model"), SelectionPolicy.RoundRobin, Audit);
        Assert.Equal(RuleChangeStatus.Done, added.Status);

        var snapshot = await tenant.GetSnapshotAsync();
        Assert.Equal([new RuleStamp("house", Owner.Config, 1), new RuleStamp("chat-rule", Owner.Runtime, 1)], snapshot.Rules);
        var tenantRow = (await fixture.StoredJsonAsync("tenant", "index"))!;
        Assert.Contains("chat-rule", tenantRow, StringComparison.Ordinal);
        Assert.DoesNotContain("only-in-the-rule-grain", tenantRow, StringComparison.Ordinal);
        Assert.DoesNotContain("chat-target-model", tenantRow, StringComparison.Ordinal);
        Assert.Contains("only-in-the-rule-grain", (await fixture.StoredJsonAsync("modelrule", "index/house"))!, StringComparison.Ordinal);

        // The same YAML again: nothing changes, nothing is written.
        var again = await tenant.ApplyConfigAsync(Config(configRule));
        Assert.Equal((0, 0, 0), (again.Added, again.Changed, again.Removed));
        Assert.Equal(snapshot.Version, await tenant.GetVersionAsync());

        // Chat cannot touch the YAML's rule.
        Assert.Equal(RuleChangeStatus.ConfigOwned, (await tenant.AddRuleTargetAsync("house", new RuleTarget(null, "gpt-4o"), null, Audit)).Status);
        Assert.Equal(RuleChangeStatus.ConfigOwned, (await tenant.RemoveRuleAsync("house", null, Audit)).Status);

        // A changed YAML rule is rewritten; a dropped one is emptied; the runtime rule is left alone.
        var changed = await tenant.ApplyConfigAsync(Config(configRule with { Policy = SelectionPolicy.Random }));
        Assert.Equal(1, changed.Changed);
        Assert.Equal(SelectionPolicy.Random, (await RuleGrain("index", "house").GetAsync()).Rule!.Policy);
        var dropped = await tenant.ApplyConfigAsync(Config());
        Assert.Equal(1, dropped.Removed);
        Assert.Null((await RuleGrain("index", "house").GetAsync()).Rule);
        Assert.Equal([new RuleStamp("chat-rule", Owner.Runtime, 1)], (await tenant.GetSnapshotAsync()).Rules);
        Assert.Equal(SelectionPolicy.RoundRobin, (await RuleGrain("index", "chat-rule").GetAsync()).Rule!.Policy);
    }

    [Fact]
    public async Task Targets_are_added_and_removed_one_at_a_time_and_the_last_one_takes_the_rule()
    {
        var tenant = Tenant("edits");
        await tenant.ApplyConfigAsync(Config()); // only an applied (or created) tenant takes changes
        var a = new RuleTarget("openai", "gpt-4o");
        var b = new RuleTarget("openrouter", "anthropic/claude-3.5-sonnet");
        Assert.Equal(SelectionPolicy.Fallback, (await tenant.AddRuleTargetAsync("smart", a, null, Audit)).Rule!.Policy);
        var both = await tenant.AddRuleTargetAsync("smart", b, SelectionPolicy.RoundRobin, Audit);
        Assert.Equal([a, b], both.Rule!.Targets);
        Assert.Equal(SelectionPolicy.RoundRobin, both.Rule.Policy);
        Assert.Equal(RuleChangeStatus.Unchanged, (await tenant.AddRuleTargetAsync("smart", b, null, Audit)).Status);
        Assert.Equal(SelectionPolicy.Random, (await tenant.AddRuleTargetAsync("smart", b, SelectionPolicy.Random, Audit)).Rule!.Policy);

        Assert.Equal(RuleChangeStatus.TargetNotFound, (await tenant.RemoveRuleAsync("smart", new RuleTarget(null, "gpt-4o"), Audit)).Status);
        Assert.Equal([b], (await tenant.RemoveRuleAsync("smart", a, Audit)).Rule!.Targets);
        var last = await tenant.RemoveRuleAsync("smart", b, Audit);
        Assert.Equal(RuleChangeStatus.Done, last.Status);
        Assert.Null(last.Rule);
        Assert.Empty((await tenant.GetSnapshotAsync()).Rules);
        Assert.Equal(RuleChangeStatus.NotFound, (await tenant.RemoveRuleAsync("smart", null, Audit)).Status);

        // Each change that happened is audited, the unchanged one is not.
        var audit = await tenant.GetAuditAsync(20);
        Assert.Equal(5, audit.Count);
    }

    [Fact]
    public async Task Embedding_rule_takes_another_provider_of_its_model_but_not_another_model()
    {
        var tenant = Tenant("embeddings");
        await tenant.ApplyConfigAsync(Config()); // only an applied (or created) tenant takes changes
        await tenant.AddRuleTargetAsync("vectors", new RuleTarget("openai", "text-embedding-3-small"), null, Audit);
        var sameModel = await tenant.AddRuleTargetAsync("vectors", new RuleTarget("openrouter", "openai/text-embedding-3-small"), null, Audit);
        Assert.Equal(RuleChangeStatus.Done, sameModel.Status);

        var mixed = await tenant.AddRuleTargetAsync("vectors", new RuleTarget("openai", "text-embedding-3-large"), null, Audit);
        Assert.Equal(RuleChangeStatus.EmbeddingModelsDiffer, mixed.Status);
        Assert.Equal(2, mixed.Rule!.Targets.Count);
        Assert.Equal(2, (await RuleGrain("embeddings", "vectors").GetAsync()).Rule!.Targets.Count);

        // The source alone makes it an embedding rule.
        await tenant.AddRuleTargetAsync("my-embedder", new RuleTarget(null, "nomic-v1"), null, Audit);
        Assert.Equal(RuleChangeStatus.EmbeddingModelsDiffer, (await tenant.AddRuleTargetAsync("my-embedder", new RuleTarget(null, "nomic-v2"), null, Audit)).Status);
    }

    [Fact]
    public async Task A_failed_index_write_puts_the_rule_grain_back()
    {
        var tenant = Tenant("torn");
        await tenant.ApplyConfigAsync(Config()); // only an applied (or created) tenant takes changes
        var kept = new RuleTarget("openai", "gpt-4o");
        await tenant.AddRuleTargetAsync("sturdy", kept, null, Audit);
        var before = await RuleGrain("torn", "sturdy").GetAsync();

        await FailTenantWritesAsync("torn", async () =>
        {
            await Assert.ThrowsAnyAsync<Exception>(() => tenant.AddRuleTargetAsync("sturdy", new RuleTarget("openai", "gpt-4o-mini"), null, Audit));
            await Assert.ThrowsAnyAsync<Exception>(() => tenant.AddRuleTargetAsync("brand-new", new RuleTarget("openai", "gpt-4o-mini"), null, Audit));
        });

        // The rule grain says what the index says again (a later version, the same rule); the new rule is nowhere.
        var after = await RuleGrain("torn", "sturdy").GetAsync();
        Assert.Equal([kept], after.Rule!.Targets);
        Assert.True(after.Version > before.Version);
        Assert.Null((await RuleGrain("torn", "brand-new").GetAsync()).Rule);
        var snapshot = await tenant.GetSnapshotAsync();
        Assert.Equal(["sturdy"], snapshot.Rules.Select(r => r.SourceModel));

        // Once storage is back the same change goes through.
        Assert.Equal(RuleChangeStatus.Done, (await tenant.AddRuleTargetAsync("brand-new", new RuleTarget("openai", "gpt-4o-mini"), null, Audit)).Status);
    }

    [Fact]
    public async Task Config_apply_reconciles_runtime_stamps_with_their_grains()
    {
        var tenant = Tenant("drift");
        await tenant.ApplyConfigAsync(Config()); // only an applied (or created) tenant takes changes
        await tenant.AddRuleTargetAsync("changed-behind", new RuleTarget("openai", "gpt-4o"), null, Audit);
        await tenant.AddRuleTargetAsync("emptied-behind", new RuleTarget("openai", "gpt-4o"), null, Audit);

        // What a change leaves when both its index write and the undo failed: the grains moved, the index did not.
        var moved = await RuleGrain("drift", "changed-behind").SetAsync(
            new ModelRule("changed-behind", [new RuleTarget("openai", "gpt-4o-mini")], SelectionPolicy.Fallback, false, Owner.Runtime));
        await RuleGrain("drift", "emptied-behind").SetAsync(null);
        Assert.NotEqual(moved, (await tenant.GetSnapshotAsync()).Rules.Single(r => r.SourceModel == "changed-behind").Version);

        await tenant.ApplyConfigAsync(Config());

        Assert.Equal([new RuleStamp("changed-behind", Owner.Runtime, moved)], (await tenant.GetSnapshotAsync()).Rules);
    }

    [Fact]
    public async Task A_tenant_row_written_before_rules_were_grains_moves_them_into_rule_grains_on_activation()
    {
        var tenant = Tenant("legacy");
        await tenant.ApplyConfigAsync(Config());
        await fixture.Cluster.DeactivateAsync(tenant);

        // The row as an older build wrote it: the rules inside the tenant, no index.
        var row = JsonNode.Parse((await fixture.StoredJsonAsync("tenant", "legacy"))!)!.AsObject();
        row["ModelRules"] = new JsonArray(
            new JsonObject
            {
                ["SourceModel"] = "old-rule",
                ["Targets"] = new JsonArray(new JsonObject { ["Provider"] = "openai", ["Model"] = "gpt-4o" }, new JsonObject { ["Provider"] = null, ["Model"] = "llama3:8b" }),
                ["Policy"] = (int)SelectionPolicy.RoundRobin,
                ["FailoverOnContextLength"] = true,
                ["Owner"] = (int)Owner.Config,
            });
        row.Remove("Rules");
        await fixture.ExecuteAsync(
            "UPDATE orleansstorage SET payloadbinary = convert_to(@json, 'UTF8') WHERE graintypestring = 'tenant' AND grainidextensionstring = 'legacy'",
            ("json", row.ToJsonString()));

        var snapshot = await tenant.GetSnapshotAsync();

        var stamp = Assert.Single(snapshot.Rules);
        Assert.Equal(("old-rule", Owner.Config), (stamp.SourceModel, stamp.Owner));
        var moved = await RuleGrain("legacy", "old-rule").GetAsync();
        Assert.Equal(stamp.Version, moved.Version);
        Assert.Equal([new RuleTarget("openai", "gpt-4o"), new RuleTarget(null, "llama3:8b")], moved.Rule!.Targets);
        Assert.True(moved.Rule.FailoverOnContextLength);
        Assert.Equal(SelectionPolicy.RoundRobin, moved.Rule.Policy);
        var stored = JsonNode.Parse((await fixture.StoredJsonAsync("tenant", "legacy"))!)!;
        Assert.Empty(stored["ModelRules"]!.AsArray());
        Assert.Equal("old-rule", stored["Rules"]![0]!["SourceModel"]!.GetValue<string>());
    }

    /// <summary>PostgreSQL refuses every write of this tenant's row while <paramref name="body"/> runs.</summary>
    private async Task FailTenantWritesAsync(string tenantId, Func<Task> body)
    {
        await fixture.ExecuteAsync($"""
            CREATE OR REPLACE FUNCTION roxy_test_fail_{tenantId}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated storage failure'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER roxy_test_fail_{tenantId} BEFORE INSERT OR UPDATE ON orleansstorage FOR EACH ROW
                WHEN (NEW.graintypestring = 'tenant' AND NEW.grainidextensionstring = '{tenantId}') EXECUTE FUNCTION roxy_test_fail_{tenantId}();
            """);
        try
        {
            await body();
        }
        finally
        {
            await fixture.ExecuteAsync($"DROP TRIGGER roxy_test_fail_{tenantId} ON orleansstorage");
        }
    }
}
