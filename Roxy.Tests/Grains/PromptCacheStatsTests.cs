using Roxy.Grains;
using Roxy.Grains.Caching;
using Roxy.Tests.Fixtures;
using static Roxy.Tests.Grains.PromptCacheEntries;

namespace Roxy.Tests.Grains;

/// <summary>A tenant's cache counters: added to by reports, persisted by a timer and on deactivation, entries counted in the table.</summary>
[Collection(PromptCacheClusterGroup.Name)]
public sealed class PromptCacheStatsTests(PromptCacheClusterFixture fixture)
{
    [Fact]
    public async Task Stats_add_up_reports_count_the_current_generations_entries_and_survive_deactivation()
    {
        const string tenant = "stats";
        var grain = fixture.Grains.GetGrain<ICacheStatsGrain>(GrainKeys.CacheStats(tenant));
        await grain.RecordAsync(new CacheStatsDelta(3, 2, [new ModelSavings("openai", "gpt-4o", 3, 300, 30)]));
        await grain.RecordAsync(new CacheStatsDelta(2, 1, [new ModelSavings("openai", "gpt-4o", 1, 100, 10), new ModelSavings("anthropic", "claude-sonnet-4", 1, 50, 5)]));
        foreach (var key in new[] { Key(tenant, generation: 4), Key(tenant, generation: 4), Key(tenant, generation: 3) })
        {
            await Grain(fixture.Grains, key).StoreAsync(key, Entry(), fixture.Time.GetUtcNow().AddHours(1));
        }

        await Eventually.TrueAsync(async () => await fixture.RowsAsync(tenant) == 3);
        // Reports are one-way calls: the await returns once each is sent, not once the grain has added it.
        await Eventually.TrueAsync(async () => (await grain.GetAsync(4)).Hits == 5);
        var stats = await grain.GetAsync(4);
        AssertStats(stats);
        var bytes = await fixture.ScalarAsync("SELECT sum(bytes) FROM roxy_prompt_cache WHERE tenant_id = $1 AND generation = 4", tenant);
        Assert.Equal((2L, bytes), (stats.Entries, stats.Bytes));

        // Written by the grain's timer, without waiting for deactivation. Grain timers run on the silos' TimeProvider,
        // the fixture's fake clock: each poll moves it on by a period.
        await Eventually.TrueAsync(
            async () =>
            {
                fixture.Time.Advance(CacheStatsGrain.SavePeriod);
                return (await StoredAsync(tenant))?.Contains("\"Hits\":5,\"Misses\":3", StringComparison.Ordinal) == true;
            },
            TimeSpan.FromSeconds(10), "the timer did not persist the counters");

        await grain.RecordAsync(new CacheStatsDelta(1, 0, [new ModelSavings("anthropic", "claude-sonnet-4", 1, 50, 5)]));
        await Eventually.TrueAsync(async () => (await grain.GetAsync(4)).Hits == 6);
        await fixture.Cluster.DeactivateAsync(grain); // the last report is written on the way out
        var after = await grain.GetAsync(4);
        Assert.Equal((6L, 3L), (after.Hits, after.Misses));
        Assert.Equal(new ModelSavings("anthropic", "claude-sonnet-4", 2, 100, 10), after.Savings.Single(s => s.Provider == "anthropic"));
    }

    private static void AssertStats(CacheStats stats)
    {
        Assert.Equal((5L, 3L), (stats.Hits, stats.Misses));
        Assert.Equal(5.0 / 8, stats.HitRatio);
        Assert.Equal(
            [new ModelSavings("openai", "gpt-4o", 4, 400, 40), new ModelSavings("anthropic", "claude-sonnet-4", 1, 50, 5)],
            stats.Savings);
    }

    private async Task<string?> StoredAsync(string tenant)
    {
        await using var connection = new Npgsql.NpgsqlConnection(fixture.Postgres);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT convert_from(payloadbinary, 'UTF8') FROM orleansstorage WHERE graintypestring = 'cachestats' AND grainidextensionstring = $1", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = tenant });
        return await command.ExecuteScalarAsync() as string;
    }
}
