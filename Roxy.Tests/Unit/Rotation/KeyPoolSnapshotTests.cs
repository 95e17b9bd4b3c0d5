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

    private KeyPool StoredPool(params ProviderKey[] keys)
    {
        var pool = new KeyPool(_time) { BoundUnsaved = true };
        pool.SetKeys(keys);
        return pool;
    }

    private int GrantAll(KeyPool pool, int max)
    {
        var granted = 0;
        while (granted < max && pool.Acquire(1, null).Status == LeaseStatus.Granted)
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
        Assert.True(after.Restore(stored!));
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
        Assert.False(after.Restore(stored));
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
        restored.Restore(new Dictionary<string, KeyWindowSnapshot> { ["a"] = stored });
        _time.Advance(TimeSpan.FromSeconds(49));
        Assert.Equal(1_000, restored.Usage().Single().RequestsInWindow);
        _time.Advance(TimeSpan.FromSeconds(11));
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
        after.Restore(before.BeginSnapshot(final: true));

        var refused = after.Acquire(1, null);
        Assert.Equal(LeaseStatus.Exhausted, refused.Status);
        Assert.Equal(TimeSpan.FromSeconds(60), refused.RetryAfter);
    }
}
