using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Roxy.Grains.Caching;
using Roxy.Tests.Fixtures;
using static Roxy.Tests.Grains.PromptCacheEntries;

namespace Roxy.Tests.Grains;

/// <summary>
/// A shard that knows which keys it holds misses the others with no PostgreSQL read, on two silos and real
/// PostgreSQL: never for an entry that is stored (after its shard moved, its memory was forgotten, or another
/// activation wrote it), always for a cleared generation's new keys and an expired row, and a superseded activation
/// stops trusting its knowledge and has its late rows refused.
/// </summary>
[Collection(PromptCacheAbsenceGroup.Name)]
public sealed class PromptCacheAbsenceTests(PromptCacheAbsenceFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_trusted_shard_misses_new_keys_without_a_read_and_still_reads_back_what_it_stored()
    {
        const string tenant = "absent-stored";
        var stored = KeyIn(tenant, 'a');
        var entry = Entry();
        var reads = fixture.Reads;
        Assert.Equal(CacheLookupStatus.Lead, (await Grain(fixture.Grains, stored).LookupAsync(stored, Wait)).Status);
        Assert.Equal(reads, fixture.Reads); // a shard nobody held before knows it is empty from its activation
        await Grain(fixture.Grains, stored).StoreAsync(stored, entry, fixture.Time.GetUtcNow().AddHours(1));
        await Eventually.TrueAsync(async () => await fixture.RowsAsync(tenant) == 1);

        await TrustAsync(tenant, 'a');
        reads = fixture.Reads;
        var fresh = KeyIn(tenant, 'a');
        Assert.Equal(CacheLookupStatus.Lead, (await Grain(fixture.Grains, fresh).LookupAsync(fresh, Wait)).Status);
        Assert.Equal(reads, fixture.Reads); // known absent: no query
        await Grain(fixture.Grains, fresh).AbandonAsync(fresh.KeyHash);

        // Evicted from memory, still in PostgreSQL: the shard knows it is there and reads it.
        fixture.ForgetMemory();
        var hit = await Grain(fixture.Grains, stored).LookupAsync(stored, Wait);
        Assert.Equal(CacheLookupStatus.Hit, hit.Status);
        AssertSame(entry, hit.Entry);
        Assert.Equal(reads + 1, fixture.Reads);
    }

    [Fact]
    public async Task An_entry_stored_before_the_shard_moved_is_found_by_its_next_activation()
    {
        const string tenant = "absent-moved";
        var keys = Enumerable.Range(0, 20).Select(_ => KeyIn(tenant, 'f')).ToArray();
        var until = fixture.Time.GetUtcNow().AddHours(1);
        foreach (var key in keys)
        {
            await Grain(fixture.Grains, key).StoreAsync(key, Entry(key.KeyHash), until);
        }

        // Deactivated right after the stores: the old activation lets its queued rows land before it goes, and the
        // new one (on either silo) reads the shard's keys after bumping the epoch.
        await fixture.DeactivateAllAsync();
        fixture.ForgetMemory(); // as after a restart of both silos
        await Eventually.TrueAsync(async () => await fixture.RowsAsync(tenant) == keys.Length, because: "the rows were not written");
        await TrustAsync(tenant, 'f');
        foreach (var key in keys)
        {
            var hit = await Grain(fixture.Grains, key).LookupAsync(key, TimeSpan.Zero);
            Assert.Equal(CacheLookupStatus.Hit, hit.Status);
            Assert.Equal(key.KeyHash, hit.Entry!.Text);
        }
    }

    [Fact]
    public async Task A_cleared_generation_and_an_expired_row_miss_without_a_read_while_a_live_one_is_read()
    {
        const string tenant = "absent-expiry";
        var shortLived = KeyIn(tenant, '3');
        var longLived = KeyIn(tenant, '3');
        var now = fixture.Time.GetUtcNow();
        await Grain(fixture.Grains, shortLived).StoreAsync(shortLived, Entry("short"), now.AddMinutes(1));
        await Grain(fixture.Grains, longLived).StoreAsync(longLived, Entry("long"), now.AddHours(1));
        await Eventually.TrueAsync(async () => await fixture.RowsAsync(tenant) == 2);
        await fixture.DeactivateAllAsync();

        // After a clear the same prompt hashes under generation 2: a key nobody stored.
        await TrustAsync(tenant, '3');
        var cleared = KeyIn(tenant, '3', generation: 2);
        var reads = fixture.Reads;
        Assert.Equal(CacheLookupStatus.Lead, (await Grain(fixture.Grains, cleared).LookupAsync(cleared, TimeSpan.Zero)).Status);
        Assert.Equal(reads, fixture.Reads);

        fixture.Time.Advance(TimeSpan.FromMinutes(2));
        fixture.ForgetMemory();
        await TrustAsync(tenant, '3');
        reads = fixture.Reads;
        Assert.Equal(CacheLookupStatus.Lead, (await Grain(fixture.Grains, shortLived).LookupAsync(shortLived, TimeSpan.Zero)).Status);
        Assert.Equal(reads, fixture.Reads); // its row is still there, expired: known absent
        Assert.Equal("long", (await Grain(fixture.Grains, longLived).LookupAsync(longLived, TimeSpan.Zero)).Entry?.Text);
        Assert.Equal(reads + 1, fixture.Reads);
        Assert.Equal(2, await fixture.RowsAsync(tenant));
    }

    [Fact]
    public async Task A_superseded_activation_stops_trusting_and_its_late_rows_are_refused()
    {
        const string tenant = "absent-superseded";
        var shardId = Roxy.Grains.GrainKeys.PromptCache(tenant, "7");
        await TrustAsync(tenant, '7');

        // Another activation of the shard starts (as during a membership change): it bumps the epoch, so the rows of
        // this one are refused from now on, and it finds the old lease still running, so it waits that out.
        var (newer, previousLease) = await fixture.Store.BumpEpochAsync(shardId, PromptCacheAbsenceFixture.Lease);
        Assert.True(previousLease > TimeSpan.Zero);
        var late = KeyIn(tenant, '7');
        var fenced = Fenced();
        await Grain(fixture.Grains, late).StoreAsync(late, Entry("late"), fixture.Time.GetUtcNow().AddHours(1));
        await Eventually.TrueAsync(() => Task.FromResult(Fenced() > fenced), because: "the superseded activation's row was written");
        Assert.Equal(0, await fixture.RowsAsync(tenant));

        // A row of the newer epoch goes in, one of an older epoch does not.
        var older = new PromptCacheShard(shardId, PromptCacheAbsenceFixture.Lease, fixture.Time);
        older.Opened(newer - 1, 0, 0, TimeSpan.Zero);
        var current = new PromptCacheShard(shardId, PromptCacheAbsenceFixture.Lease, fixture.Time);
        current.Opened(newer, 0, 0, TimeSpan.Zero);
        var other = KeyIn(tenant, '7');
        Assert.Equal(1, await fixture.Store.WriteAsync([Row(other, older)]));
        Assert.Equal(0, await fixture.Store.WriteAsync([Row(other, current)]));
        Assert.Equal(1, await fixture.RowsAsync(tenant));

        // The old activation's next confirmation finds the epoch moved: it stops trusting, so the newer activation's
        // row is read, not missed.
        fixture.Time.Advance(PromptCacheAbsenceFixture.Lease);
        await Eventually.TrueAsync(async () =>
        {
            var found = await Grain(fixture.Grains, other).LookupAsync(other, TimeSpan.Zero);
            return found.Status == CacheLookupStatus.Hit;
        }, because: "the row written under the newer epoch was never found");
    }

    /// <summary>
    /// Moves the clock a lease on and waits until the shard's activation has confirmed its epoch: a fresh key's
    /// lookup then makes no query.
    /// </summary>
    private async Task TrustAsync(string tenant, char digit)
    {
        fixture.Time.Advance(PromptCacheAbsenceFixture.Lease + TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () =>
        {
            var probe = KeyIn(tenant, digit);
            var reads = fixture.Reads;
            var status = (await Grain(fixture.Grains, probe).LookupAsync(probe, TimeSpan.Zero)).Status;
            return status == CacheLookupStatus.Lead && fixture.Reads == reads;
        }, because: "the shard never trusted its knowledge");
    }

    private long Fenced() => fixture.SiloServices.Sum(s => s.GetRequiredService<PromptCacheStore>().Fenced);

    private PromptCacheRow Row(CacheEntryKey key, PromptCacheShard shard) =>
        new(key, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Entry("written elsewhere"), PromptCacheJson.Default.CachedCompletion),
            fixture.Time.GetUtcNow().AddHours(1), fixture.Time.GetUtcNow(), shard);

    /// <summary>A random key whose hash starts with <paramref name="digit"/>: it belongs to that shard of the tenant.</summary>
    private static CacheEntryKey KeyIn(string tenant, char digit, long generation = 1) =>
        new(tenant, digit + Convert.ToHexStringLower(SHA256.HashData(Guid.NewGuid().ToByteArray()))[1..], generation, "gpt-4o", "fp-1");
}
