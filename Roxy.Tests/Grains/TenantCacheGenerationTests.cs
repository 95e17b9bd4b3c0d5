using Npgsql;
using Roxy.Grains;
using Roxy.Grains.Caching;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>
/// The tenant's cache generation (bumped by a clear, persisted, in the snapshot) and the background expiry of the rows
/// a clear or a rule change made unreachable. Two silos, real PostgreSQL, the real prompt cache grains and writer.
/// </summary>
public sealed class TenantCacheGenerationTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private static readonly AuditEntry Audit = new(DateTimeOffset.UnixEpoch, "t-admin", "chat", "cache clear");

    private ITenantGrain Tenant(string id) => fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(id));

    private static TenantConfigSnapshot Config(params ModelRule[] rules) =>
        new("fingerprint", [], [], rules, new CacheSettings(true, 3600, false), true);

    [Fact]
    public async Task Clear_bumps_the_generation_in_the_snapshot_persists_it_and_audits_it()
    {
        var tenant = Tenant("clear-persist");
        await tenant.ApplyConfigAsync(Config());
        var before = await tenant.GetSnapshotAsync();
        Assert.Equal(0, before.CacheGeneration);

        Assert.Equal(1, await tenant.ClearCacheAsync(Audit));
        Assert.Equal(2, await tenant.ClearCacheAsync(Audit with { TokenId = "t-other" }));
        var after = await tenant.GetSnapshotAsync();
        Assert.Equal(2, after.CacheGeneration);
        Assert.Equal(before.Version + 2, after.Version); // frontends polling the version pick the clear up

        await fixture.Cluster.DeactivateAsync(tenant);
        Assert.Equal(2, (await tenant.GetSnapshotAsync()).CacheGeneration);
        Assert.Contains("\"CacheGeneration\":2", (await fixture.StoredJsonAsync("tenant", "clear-persist"))!, StringComparison.Ordinal);

        // A config apply leaves the generation alone.
        await tenant.ApplyConfigAsync(Config(new ModelRule("m", [new RuleTarget("openai", "gpt-4o")], SelectionPolicy.Fallback, false, Owner.Config)));
        Assert.Equal(2, (await tenant.GetSnapshotAsync()).CacheGeneration);

        var audit = await tenant.GetAuditAsync(10);
        Assert.Equal(["t-other", "t-admin"], audit.Where(a => a.Action == "cache clear").Select(a => a.TokenId));
    }

    [Fact]
    public async Task Clear_expires_the_rows_of_older_generations_in_the_background()
    {
        const string tenantId = "clear-rows";
        var tenant = Tenant(tenantId);
        await tenant.ApplyConfigAsync(Config());
        await StoreAsync(tenantId, 0, "gpt-4o", "fp-a", count: 3);
        await Eventually.TrueAsync(async () => await LiveRowsAsync(tenantId) == 3, because: "the writer stores the rows");

        var generation = (await tenant.ClearCacheAsync(Audit))!.Value;
        await StoreAsync(tenantId, generation, "gpt-4o", "fp-a", count: 1);

        await Eventually.TrueAsync(async () => await LiveRowsAsync(tenantId, "generation = 0") == 0, because: "the old generation's rows expire");
        await Eventually.TrueAsync(async () => await LiveRowsAsync(tenantId, $"generation = {generation}") == 1, because: "the new generation's row is stored and kept");
    }

    [Fact]
    public async Task A_rule_change_expires_the_rows_made_under_the_rules_other_fingerprints()
    {
        const string tenantId = "rule-rows";
        var tenant = Tenant(tenantId);
        var configRule = new ModelRule("cfg", [new RuleTarget("openai", "gpt-4o")], SelectionPolicy.Fallback, false, Owner.Config);
        await tenant.ApplyConfigAsync(Config(configRule));

        var target = new RuleTarget("openai", "gpt-4o-mini");
        var expected = RuleFingerprint.Of(new ModelRule("chat", [target], SelectionPolicy.Fallback, false, Owner.Runtime));
        await StoreAsync(tenantId, 0, "chat", RuleFingerprint.Unlisted("openai", "chat"), count: 2); // before it had a rule
        await StoreAsync(tenantId, 0, "chat", expected, count: 1);
        await StoreAsync(tenantId, 0, "cfg", RuleFingerprint.Of(configRule), count: 2);
        await StoreAsync(tenantId, 0, "untouched", "fp-x", count: 1);
        await Eventually.TrueAsync(async () => await LiveRowsAsync(tenantId) == 6, because: "the writer stores the rows");

        var added = await tenant.AddRuleTargetAsync("chat", target, null, Audit);
        Assert.Equal(expected, RuleFingerprint.Of(added.Rule!));
        await Eventually.TrueAsync(async () => await LiveRowsAsync(tenantId, "requested_model = 'chat'") == 1, because: "rows under the unlisted fingerprint expire");
        Assert.Equal(1, await LiveRowsAsync(tenantId, $"requested_model = 'chat' AND rule_fingerprint = '{expected}'"));

        // The YAML drops its rule: all of its rows go; a model no rule changed keeps its own.
        await tenant.ApplyConfigAsync(Config());
        await Eventually.TrueAsync(async () => await LiveRowsAsync(tenantId, "requested_model = 'cfg'") == 0, because: "a dropped config rule's rows expire");
        Assert.Equal(1, await LiveRowsAsync(tenantId, "requested_model = 'untouched'"));
        Assert.Equal(1, await LiveRowsAsync(tenantId, "requested_model = 'chat'"));
    }

    private async Task StoreAsync(string tenantId, long generation, string model, string fingerprint, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Guid.NewGuid().ToByteArray()));
            var key = new CacheEntryKey(tenantId, hash, generation, model, fingerprint);
            var entry = new CachedCompletion("openai", "gpt-4o-2024-08-06", $"answer {i}", [], "stop", 10, 2, 0);
            await fixture.Grains.GetGrain<IPromptCacheGrain>(GrainKeys.PromptCache(tenantId, hash)).StoreAsync(key, entry, DateTimeOffset.UtcNow.AddHours(1));
        }
    }

    private async Task<long> LiveRowsAsync(string tenantId, string where = "true")
    {
        await using var connection = new NpgsqlConnection(fixture.Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM roxy_prompt_cache WHERE tenant_id = @tenant AND expires_at > now() AND {where}", connection);
        command.Parameters.AddWithValue("tenant", tenantId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
