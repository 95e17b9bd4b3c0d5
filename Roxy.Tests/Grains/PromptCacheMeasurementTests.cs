using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Roxy.Grains.Caching;
using Roxy.Tests.Fixtures;
using Xunit.Abstractions;
using static Roxy.Tests.Grains.PromptCacheEntries;

namespace Roxy.Tests.Grains;

/// <summary>
/// What an entry costs in PostgreSQL and what a lookup costs, printed for the closing note; the assertions are
/// on the counts (reads per hit and per miss, rows swept), never on times.
/// </summary>
[Collection(PromptCacheClusterGroup.Name)]
public sealed class PromptCacheMeasurementTests(PromptCacheClusterFixture fixture, ITestOutputHelper output)
{
    private const int Entries = 1500;

    [Fact]
    public async Task Rows_and_bytes_per_entry_and_a_hit_costs_no_read_a_miss_one()
    {
        const string tenant = "measure";
        var text = string.Concat(Enumerable.Repeat("Cached answers are served from memory. ", 27))[..1024];
        var keys = Enumerable.Range(0, Entries).Select(_ => Key(tenant)).ToArray();
        var until = fixture.Time.GetUtcNow().AddHours(1);
        await Task.WhenAll(keys.Select(k => Grain(fixture.Grains, k).StoreAsync(k, Entry(text), until)));
        await Eventually.TrueAsync(async () => await fixture.RowsAsync(tenant) == Entries, TimeSpan.FromSeconds(30), "the rows were not written");
        var batches = fixture.SiloServices.Sum(s => s.GetRequiredService<PromptCacheStore>().WriteBatches);

        await fixture.ScalarAsync("VACUUM ANALYZE roxy_prompt_cache");
        var all = await fixture.ScalarAsync("SELECT count(*) FROM roxy_prompt_cache");
        var heap = await fixture.ScalarAsync("SELECT pg_relation_size('roxy_prompt_cache')");
        var total = await fixture.ScalarAsync("SELECT pg_total_relation_size('roxy_prompt_cache')");
        var entryBytes = await fixture.ScalarAsync("SELECT avg(bytes)::bigint FROM roxy_prompt_cache WHERE tenant_id = $1", tenant);
        output.WriteLine($"{all} rows (1 per entry; {Entries} of ~1 KiB text written in <= {batches} batches): entry JSON {entryBytes} B, heap {heap / all} B/row, with indexes and TOAST {total / all} B/row");

        // Warm hits: one grain call each, no PostgreSQL query.
        var warm = keys[0];
        var grain = Grain(fixture.Grains, warm);
        await grain.LookupAsync(warm, TimeSpan.Zero);
        var reads = fixture.Reads;
        const int hits = 2000;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < hits; i++)
        {
            Assert.Equal(CacheLookupStatus.Hit, (await grain.LookupAsync(warm, TimeSpan.Zero)).Status);
        }

        var hitMicros = clock.Elapsed.TotalMicroseconds / hits;
        Assert.Equal(reads, fixture.Reads);

        // Misses: one grain call and one indexed read each.
        const int misses = 300;
        var absent = Enumerable.Range(0, misses).Select(_ => Key(tenant)).ToArray();
        clock.Restart();
        foreach (var key in absent)
        {
            Assert.Equal(CacheLookupStatus.Lead, (await Grain(fixture.Grains, key).LookupAsync(key, TimeSpan.Zero)).Status);
        }

        var missMicros = clock.Elapsed.TotalMicroseconds / misses;
        Assert.Equal(reads + misses, fixture.Reads);

        // Cold hits (memory forgotten, as after a restart): one read each, then warm again.
        fixture.ForgetMemory();
        clock.Restart();
        foreach (var key in keys.Take(misses))
        {
            Assert.Equal(CacheLookupStatus.Hit, (await Grain(fixture.Grains, key).LookupAsync(key, TimeSpan.Zero)).Status);
        }

        var coldMicros = clock.Elapsed.TotalMicroseconds / misses;
        Assert.Equal(reads + (2 * misses), fixture.Reads);
        output.WriteLine($"sequential lookups through the cluster client: warm hit {hitMicros:F0} us (1 grain call, 0 reads), miss {missMicros:F0} us (1 grain call, 1 read), cold hit {coldMicros:F0} us (1 grain call, 1 read)");

        // A clear of all of them: chunked updates, then sweeps in batches of 1000.
        Assert.Equal(Entries, await fixture.Store.ExpireGenerationsBelowAsync(tenant, 2));
        var sweeper = fixture.SiloServices.First().GetRequiredService<PromptCacheSweeper>();
        var deletesBefore = fixture.SiloServices.Sum(s => s.GetRequiredService<PromptCacheStore>().Deletes);
        clock.Restart();
        Assert.True(await sweeper.SweepOnceAsync() >= Entries);
        output.WriteLine($"sweep of {Entries} invalidated rows: {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.Equal(0, await fixture.RowsAsync(tenant));
        Assert.True(fixture.SiloServices.Sum(s => s.GetRequiredService<PromptCacheStore>().Deletes) - deletesBefore >= Entries);
    }
}
