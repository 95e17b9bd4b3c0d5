using Microsoft.Extensions.DependencyInjection;
using Roxy.Grains.Caching;
using Roxy.Tests.Fixtures;
using static Roxy.Tests.Grains.PromptCacheEntries;

namespace Roxy.Tests.Grains;

/// <summary>
/// The prompt cache shard grains on two silos and real PostgreSQL: memory tier first, one indexed read on a miss, none
/// on a warm hit, rows written in the background, expiry by the silos' clock, and single flight.
/// </summary>
[Collection(PromptCacheClusterGroup.Name)]
public sealed class PromptCacheGrainTests(PromptCacheClusterFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Miss_leads_with_one_read_a_warm_hit_reads_nothing_and_a_cold_silo_reads_the_row_once()
    {
        var key = Key("warm");
        var grain = Grain(fixture.Grains, key);
        var entry = Entry();

        var reads = fixture.Reads;
        Assert.Equal(CacheLookupStatus.Lead, (await grain.LookupAsync(key, Wait)).Status);
        Assert.Equal(reads + 1, fixture.Reads);

        await grain.StoreAsync(key, entry, fixture.Time.GetUtcNow().AddHours(1));
        for (var i = 0; i < 3; i++)
        {
            var hit = await grain.LookupAsync(key, Wait);
            Assert.Equal(CacheLookupStatus.Hit, hit.Status);
            AssertSame(entry, hit.Entry);
        }

        Assert.Equal(reads + 1, fixture.Reads); // warm hits: no PostgreSQL query

        // Written in the background, in Roxy's canonical JSON, beside what finds it again after a clear or a rule change.
        await Eventually.TrueAsync(async () => await fixture.RowsAsync("warm") == 1, because: "the row was not written");
        var json = await fixture.ScalarAsync(
            "SELECT count(*) FROM roxy_prompt_cache WHERE tenant_id = 'warm' AND generation = 1 AND requested_model = 'gpt-4o' AND rule_fingerprint = 'fp-1'"
            + " AND length(key_hash) = 32 AND bytes = length(entry) AND convert_from(entry, 'UTF8')::jsonb @> '{\"finish\":\"tool_calls\",\"tool_calls\":[{\"name\":\"get_weather\"}]}'");
        Assert.Equal(1, json);

        // As after a restart: the memory tier is gone, the row is read once, then the memory serves again.
        fixture.ForgetMemory();
        var cold = await grain.LookupAsync(key, Wait);
        Assert.Equal(CacheLookupStatus.Hit, cold.Status);
        AssertSame(entry, cold.Entry);
        Assert.Equal(reads + 2, fixture.Reads);
        Assert.Equal(CacheLookupStatus.Hit, (await grain.LookupAsync(key, Wait)).Status);
        Assert.Equal(reads + 2, fixture.Reads);
    }

    [Fact]
    public async Task Entries_expire_by_the_silos_clock_in_memory_and_in_postgresql()
    {
        var key = Key("ttl");
        var grain = Grain(fixture.Grains, key);
        // Store is one-way and Orleans does not order it before a later call: a lookup that overtook it would lead. A
        // lookup first makes one, whose flight the store resolves, so the next lookup waits for it if it overtakes.
        Assert.Equal(CacheLookupStatus.Lead, (await grain.LookupAsync(key, Wait)).Status);
        await grain.StoreAsync(key, Entry(), fixture.Time.GetUtcNow().AddMinutes(10));
        Assert.Equal(CacheLookupStatus.Hit, (await grain.LookupAsync(key, Wait)).Status);
        await Eventually.TrueAsync(async () => await fixture.RowsAsync("ttl") == 1);

        fixture.Time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(CacheLookupStatus.Hit, (await grain.LookupAsync(key, Wait)).Status);
        fixture.ForgetMemory();
        Assert.Equal(CacheLookupStatus.Hit, (await grain.LookupAsync(key, Wait)).Status); // from the row, 1 min left

        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        var reads = fixture.Reads;
        Assert.Equal(CacheLookupStatus.Lead, (await grain.LookupAsync(key, Wait)).Status); // memory expired it too
        Assert.Equal(reads + 1, fixture.Reads); // and the row, still there, is not served
        Assert.Equal(1, await fixture.RowsAsync("ttl"));
        await grain.AbandonAsync(key.KeyHash);
    }

    [Fact]
    public async Task Twenty_concurrent_lookups_make_one_lead_and_the_others_are_served_its_answer()
    {
        var key = Key("flight");
        var grain = Grain(fixture.Grains, key);
        var reads = fixture.Reads;

        var lookups = Enumerable.Range(0, 20).Select(_ => grain.LookupAsync(key, Wait)).ToList();
        var first = await Task.WhenAny(lookups);
        Assert.Equal(CacheLookupStatus.Lead, (await first).Status);
        await Task.Delay(500);
        Assert.Equal(1, lookups.Count(l => l.IsCompleted)); // the others wait for the leader

        var entry = Entry("the leader's answer");
        await grain.StoreAsync(key, entry, fixture.Time.GetUtcNow().AddHours(1));
        var answers = await Task.WhenAll(lookups);

        Assert.Single(answers, a => a.Status == CacheLookupStatus.Lead);
        Assert.Equal(19, answers.Count(a => a.Status == CacheLookupStatus.Hit));
        Assert.All(answers.Where(a => a.Status == CacheLookupStatus.Hit), a => AssertSame(entry, a.Entry));
        Assert.Equal(reads + 1, fixture.Reads); // only the leader read PostgreSQL
    }

    [Fact]
    public async Task Waiters_go_upstream_themselves_when_the_leader_abandons_or_never_reports()
    {
        var key = Key("flight");
        var grain = Grain(fixture.Grains, key);
        var lookups = Enumerable.Range(0, 20).Select(_ => grain.LookupAsync(key, Wait)).ToList();
        Assert.Equal(CacheLookupStatus.Lead, (await await Task.WhenAny(lookups)).Status);
        await Task.Delay(500);
        await grain.AbandonAsync(key.KeyHash);
        var answers = await Task.WhenAll(lookups);
        Assert.Single(answers, a => a.Status == CacheLookupStatus.Lead);
        Assert.Equal(19, answers.Count(a => a.Status == CacheLookupStatus.Miss));

        // A leader that never reports: a waiter gives up after its wait, and the lead lapses after the leader's.
        var silent = Key("flight");
        var short_ = TimeSpan.FromMilliseconds(400);
        var silentGrain = Grain(fixture.Grains, silent);
        Assert.Equal(CacheLookupStatus.Lead, (await silentGrain.LookupAsync(silent, short_)).Status);
        Assert.Equal(CacheLookupStatus.Miss, (await silentGrain.LookupAsync(silent, short_)).Status);
        await Task.Delay(short_);
        Assert.Equal(CacheLookupStatus.Lead, (await silentGrain.LookupAsync(silent, short_)).Status);
        await silentGrain.AbandonAsync(silent.KeyHash);

        // No single flight: everyone who finds nothing leads.
        var free = Key("flight");
        var both = await Task.WhenAll(Grain(fixture.Grains, free).LookupAsync(free, TimeSpan.Zero), Grain(fixture.Grains, free).LookupAsync(free, TimeSpan.Zero));
        Assert.All(both, a => Assert.Equal(CacheLookupStatus.Lead, a.Status));
    }

    [Fact]
    public async Task A_failing_postgresql_turns_lookups_into_leads_and_misses_never_errors()
    {
        var key = Key("outage");
        var grain = Grain(fixture.Grains, key);
        await fixture.ScalarAsync("ALTER TABLE roxy_prompt_cache RENAME TO roxy_prompt_cache_away");
        try
        {
            Assert.Equal(CacheLookupStatus.Lead, (await grain.LookupAsync(key, Wait)).Status);
            Assert.Equal(CacheLookupStatus.Lead, (await grain.LookupAsync(Key("outage"), TimeSpan.Zero)).Status);
        }
        finally
        {
            await fixture.ScalarAsync("ALTER TABLE roxy_prompt_cache_away RENAME TO roxy_prompt_cache");
        }

        Assert.Contains(fixture.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("Prompt cache read failed for tenant outage", StringComparison.Ordinal));

        // The leader's answer is still served from memory and written once PostgreSQL is back.
        var entry = Entry();
        await grain.StoreAsync(key, entry, fixture.Time.GetUtcNow().AddHours(1));
        AssertSame(entry, (await grain.LookupAsync(key, Wait)).Entry);
        await Eventually.TrueAsync(async () => await fixture.RowsAsync("outage") == 1);
    }

    [Fact]
    public async Task Clear_and_rule_change_make_rows_unreachable_and_the_sweeper_deletes_them_with_the_expired()
    {
        const string tenant = "invalidate";
        var now = fixture.Time.GetUtcNow();
        var old1 = Key(tenant, generation: 1);
        var old2 = Key(tenant, generation: 1);
        var sameRule = Key(tenant, generation: 2, fingerprint: "fp-1");
        var otherModel = Key(tenant, generation: 2, model: "claude", fingerprint: "fp-1");
        var current = Key(tenant, generation: 2, fingerprint: "fp-2");
        var shortLived = Key(tenant, generation: 2, fingerprint: "fp-2");
        foreach (var key in new[] { old1, old2, sameRule, otherModel, current })
        {
            await Grain(fixture.Grains, key).StoreAsync(key, Entry(), now.AddHours(1));
        }

        await Grain(fixture.Grains, shortLived).StoreAsync(shortLived, Entry(), now.AddMinutes(1));
        await Eventually.TrueAsync(async () => await fixture.RowsAsync(tenant) == 6);
        var bytes = await EntryBytesAsync();
        Assert.Equal((4L, 4 * bytes), await fixture.Store.CountAsync(tenant, 2, now)); // generation 2's only

        Assert.Equal(2, await fixture.Store.ExpireGenerationsBelowAsync(tenant, 2));
        Assert.Equal(1, await fixture.Store.ExpireRuleAsync(tenant, "gpt-4o", "fp-2")); // sameRule
        Assert.Equal(1, await fixture.Store.ExpireRuleAsync(tenant, "claude", null)); // otherModel
        Assert.Equal(0, await fixture.Store.ExpireRuleAsync(tenant, "claude", null)); // already expired: nothing again
        Assert.Equal(2, await fixture.ReachableRowsAsync(tenant));

        fixture.ForgetMemory();
        foreach (var gone in new[] { old1, old2, sameRule, otherModel })
        {
            Assert.Equal(CacheLookupStatus.Lead, (await Grain(fixture.Grains, gone).LookupAsync(gone, TimeSpan.Zero)).Status);
        }

        fixture.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal((1L, bytes), await fixture.Store.CountAsync(tenant, 2, fixture.Time.GetUtcNow()));

        var sweeper = fixture.SiloServices.Last().GetRequiredService<PromptCacheSweeper>();
        Assert.True(await sweeper.SweepOnceAsync() >= 5);
        Assert.Equal(1, await fixture.RowsAsync(tenant));
        Assert.Equal(CacheLookupStatus.Hit, (await Grain(fixture.Grains, current).LookupAsync(current, TimeSpan.Zero)).Status);
    }

    private async Task<long> EntryBytesAsync() =>
        await fixture.ScalarAsync("SELECT max(bytes) FROM roxy_prompt_cache WHERE tenant_id = 'invalidate'");
}
