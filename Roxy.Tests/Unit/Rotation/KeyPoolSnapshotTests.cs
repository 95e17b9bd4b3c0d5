using Microsoft.Extensions.Time.Testing;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Rotation;

/// <summary>What a crash of the silo hosting a rotation grain may lose, and what a restore charges for it.</summary>
public class KeyPoolSnapshotTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static ProviderKey Key(string id, long rpm = 30, long tpm = 1_000_000) =>
        new(id, "openai", "fp-" + id, KeySource.Config, "VAR_" + id, "sk-…" + id, rpm, tpm, 60, Owner.Config, true, null);

    /// <summary>A pool as the grain leaves it after activating: keys set, a first snapshot stored.</summary>
    private KeyPool StoredPool(params ProviderKey[] keys)
    {
        var pool = new KeyPool(_time) { BoundUnsaved = true };
        pool.SetKeys(keys);
        pool.BeginSnapshot();
        pool.EndSnapshot(written: true);
        return pool;
    }

    /// <summary>Writes and stores a snapshot; returns it and whether it was final, as the grain stores them.</summary>
    private static Dictionary<string, KeyWindowSnapshot> Store(KeyPool pool, bool final = false)
    {
        var snapshot = pool.BeginSnapshot(final);
        pool.EndSnapshot(written: true);
        return snapshot;
    }

    private static int GrantAll(KeyPool pool, int max, long tokens = 1)
    {
        var granted = 0;
        while (granted < max && pool.Acquire(tokens, null).Status == LeaseStatus.Granted)
        {
            granted++;
        }

        return granted;
    }

    [Fact]
    public void A_key_grants_at_most_its_unsaved_share_until_a_snapshot_is_stored()
    {
        var pool = StoredPool(Key("a", rpm: 30));

        Assert.Equal(5, GrantAll(pool, 30));
        var waiting = pool.Acquire(1, null);
        Assert.Equal(LeaseStatus.Exhausted, waiting.Status);
        Assert.Equal(KeyPool.SnapshotWait, waiting.RetryAfter);
        Assert.True(pool.SnapshotWanted);

        // Grants go on while the write is in flight (they are not in it), up to the share again once it is stored.
        pool.BeginSnapshot();
        Assert.Equal(LeaseStatus.Exhausted, pool.Acquire(1, null).Status);
        pool.EndSnapshot(written: true);
        Assert.Equal(5, GrantAll(pool, 30));
    }

    [Fact]
    public void Restore_after_a_crash_charges_the_unsaved_share_so_no_key_goes_over_its_limit()
    {
        var before = StoredPool(Key("a", rpm: 30));
        var granted = 0;
        Dictionary<string, KeyWindowSnapshot>? stored = null;
        for (var round = 0; round < 4; round++)
        {
            granted += GrantAll(before, 30);
            stored = before.BeginSnapshot();
            before.EndSnapshot(written: true);
        }

        // Grants after the last stored snapshot are lost with the silo.
        granted += GrantAll(before, 30);
        Assert.Equal(25, granted);

        _time.Advance(TimeSpan.FromSeconds(5));
        var after = StoredPool(Key("a", rpm: 30));
        Assert.True(after.Restore(stored!, final: false));
        for (var round = 0; round < 20; round++)
        {
            granted += GrantAll(after, 30);
            after.BeginSnapshot();
            after.EndSnapshot(written: true);
        }

        Assert.Equal(30, granted);
    }

    [Fact]
    public void Restore_of_a_final_snapshot_charges_nothing()
    {
        var before = StoredPool(Key("a", rpm: 30));
        GrantAll(before, 30);
        var stored = before.BeginSnapshot(final: true);
        before.EndSnapshot(written: true);

        var after = StoredPool(Key("a", rpm: 30));
        Assert.False(after.Restore(stored, final: true));
        Assert.Equal(5, after.Usage().Single().RequestsInWindow);
    }

    [Fact]
    public void Failed_writes_stop_holding_grants_back()
    {
        var pool = StoredPool(Key("a", rpm: 30));
        Assert.Equal(5, GrantAll(pool, 30));

        pool.BeginSnapshot();
        pool.EndSnapshot(written: false);

        Assert.Equal(25, GrantAll(pool, 30));
    }

    [Fact]
    public void A_write_slower_than_a_second_stops_holding_grants_back()
    {
        var pool = StoredPool(Key("a", rpm: 30));
        Assert.Equal(5, GrantAll(pool, 30));
        pool.BeginSnapshot();
        Assert.Equal(0, GrantAll(pool, 30));

        _time.Advance(KeyPool.SlowWrite + TimeSpan.FromMilliseconds(1));

        Assert.Equal(25, GrantAll(pool, 30));
    }

    [Fact]
    public void Only_changes_since_the_last_stored_snapshot_need_a_write()
    {
        var pool = StoredPool(Key("a"));
        pool.BeginSnapshot();
        pool.EndSnapshot(written: true);
        Assert.False(pool.HasUnsavedChanges);

        pool.Acquire(1, null);
        Assert.True(pool.HasUnsavedChanges);
        pool.BeginSnapshot();
        Assert.False(pool.HasUnsavedChanges);
        pool.EndSnapshot(written: false);
        Assert.True(pool.HasUnsavedChanges);
    }

    [Fact]
    public void Snapshot_merges_entries_per_second_without_expiring_any_earlier()
    {
        var pool = new KeyPool(_time);
        pool.SetKeys([Key("a", rpm: 10_000)]);
        for (var i = 0; i < 1_000; i++)
        {
            pool.Acquire(1, null);
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        var stored = pool.BeginSnapshot(final: true)["a"];

        Assert.InRange(stored.Requests.Length, 10, 11);
        Assert.Equal(1_000, stored.Requests.Sum(e => e.Amount));
        var restored = new KeyPool(_time);
        restored.SetKeys([Key("a", rpm: 10_000)]);
        restored.Restore(new Dictionary<string, KeyWindowSnapshot> { ["a"] = stored }, final: true);
        _time.Advance(TimeSpan.FromSeconds(49));
        Assert.Equal(1_000, restored.Usage().Single().RequestsInWindow);
        _time.Advance(KeyPool.Window - TimeSpan.FromSeconds(49));
        Assert.Equal(0, restored.Usage().Single().RequestsInWindow);
    }

    [Fact]
    public void Entries_from_a_silo_whose_clock_is_ahead_count_from_now()
    {
        var ahead = new FakeTimeProvider(_time.GetUtcNow() + TimeSpan.FromMinutes(10));
        var before = new KeyPool(ahead);
        before.SetKeys([Key("a", rpm: 2)]);
        before.Acquire(1, null);
        before.Acquire(1, null);

        var after = new KeyPool(_time);
        after.SetKeys([Key("a", rpm: 2)]);
        after.Restore(before.BeginSnapshot(final: true), final: true);

        var refused = after.Acquire(1, null);
        Assert.Equal(LeaseStatus.Exhausted, refused.Status);
        Assert.Equal(KeyPool.Window, refused.RetryAfter);
    }

    [Fact]
    public void A_new_pool_grants_nothing_until_a_snapshot_records_its_share()
    {
        // A first activation has no record: a kill before its first snapshot would be charged nothing.
        var pool = new KeyPool(_time) { BoundUnsaved = true };
        pool.SetKeys([Key("a", rpm: 30)]);

        var waiting = pool.Acquire(1, null);
        Assert.Equal(LeaseStatus.Exhausted, waiting.Status);
        Assert.Equal(KeyPool.SnapshotWait, waiting.RetryAfter);
        Assert.True(pool.SnapshotWanted);

        var stored = Store(pool);
        Assert.Equal(5, stored["a"].UnsavedRequests);
        Assert.Equal(5, GrantAll(pool, 30));
    }

    [Fact]
    public void A_final_snapshot_restored_is_followed_by_one_that_records_the_share_before_anything_is_granted()
    {
        var before = StoredPool(Key("a", rpm: 30));
        GrantAll(before, 30);
        var final = Store(before, final: true);

        var after = new KeyPool(_time) { BoundUnsaved = true };
        after.SetKeys([Key("a", rpm: 30)]);
        Assert.False(after.Restore(final, final: true));
        Assert.Equal(LeaseStatus.Exhausted, after.Acquire(1, null).Status);
        Assert.Equal(5, Store(after)["a"].UnsavedRequests);
    }

    [Fact]
    public void Restore_after_a_crash_charges_the_share_of_a_key_added_after_the_snapshot()
    {
        var before = StoredPool(Key("a", rpm: 30));
        var stored = Store(before);

        // Key b arrives by SetKeys after the last stored snapshot and grants its share; then the silo dies.
        before.SetKeys([Key("a", rpm: 30), Key("b", rpm: 30)]);
        var granted = 0;
        while (before.Acquire(1, ["a"]).Status == LeaseStatus.Granted)
        {
            granted++;
        }

        Assert.Equal(5, granted);

        var after = new KeyPool(_time) { BoundUnsaved = true };
        after.SetKeys([Key("a", rpm: 30), Key("b", rpm: 30)]);
        Assert.True(after.Restore(stored, final: false));
        Assert.Equal(5, after.Usage().Single(u => u.KeyId == "b").RequestsInWindow);
    }

    [Fact]
    public void The_write_after_a_storage_outage_holds_grants_to_the_share_it_records()
    {
        var pool = StoredPool(Key("a", rpm: 100));
        Assert.Equal(10, GrantAll(pool, 100));
        pool.BeginSnapshot();
        pool.EndSnapshot(written: false);
        Assert.Equal(20, GrantAll(pool, 20));

        // Storage is back: the write in flight holds everything granted before it, so only what is granted while
        // it runs could be lost, and that stays within the share.
        pool.BeginSnapshot();
        Assert.Equal(10, GrantAll(pool, 100));
        pool.EndSnapshot(written: true);
        Assert.Equal(0, GrantAll(pool, 100));
    }

    [Fact]
    public void A_burst_of_large_requests_on_a_small_token_key_does_not_wait_on_a_write_per_request()
    {
        // 30k TPM, requests of 1,100 tokens: a tenth of the limit holds two of them.
        var pool = StoredPool(Key("a", rpm: 500, tpm: 30_000));
        var granted = 0;
        var writes = 0;
        while (granted < 25)
        {
            var lease = pool.Acquire(1_100, null);
            if (lease.Status == LeaseStatus.Granted)
            {
                granted++;
                continue;
            }

            Assert.Equal(KeyPool.SnapshotWait, lease.RetryAfter);
            Store(pool);
            writes++;
        }

        // One write learns the size of the requests; after it each write lets five through.
        Assert.InRange(writes, 1, 5);
    }

    [Fact]
    public void The_token_share_a_key_grants_is_the_one_recorded_in_storage()
    {
        var pool = StoredPool(Key("a", rpm: 500, tpm: 30_000));

        // The share grows with the requests seen, but only once a snapshot recording it is stored.
        Assert.Equal(2, GrantAll(pool, 1_100, tokens: 1_100));
        var stored = pool.BeginSnapshot();
        Assert.Equal(0, GrantAll(pool, 1_100, tokens: 1_100));
        pool.EndSnapshot(written: true);
        Assert.Equal(5 * 1_100, stored["a"].UnsavedTokens);
        Assert.Equal(5, GrantAll(pool, 1_100, tokens: 1_100));
    }

    [Fact]
    public void A_report_sent_twice_is_applied_once()
    {
        var pool = new KeyPool(_time);
        pool.SetKeys([Key("a", rpm: 30)]);
        var lease = pool.Acquire(1, null);
        var limited = new UsageReport("a", lease.LeaseId, 0, UpstreamOutcome.RateLimited, null, null, null, null);
        pool.Report(limited);
        var cooling = pool.Usage().Single().CoolingUntil;

        _time.Advance(TimeSpan.FromSeconds(10));
        pool.Report(limited);

        Assert.Equal(cooling, pool.Usage().Single().CoolingUntil);
    }
}
