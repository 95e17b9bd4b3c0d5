using Microsoft.Extensions.Time.Testing;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Rotation;

public class KeyPoolTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static ProviderKey Key(string id, int rpm = 100, int tpm = 100_000, int cooldown = 60) =>
        new(id, "openai", "fp-" + id, KeySource.Config, "VAR_" + id, "sk-…" + id, rpm, tpm, cooldown, Owner.Config, true, null);

    private KeyPool Pool(params ProviderKey[] keys)
    {
        var pool = new KeyPool(_time);
        pool.SetKeys(keys);
        return pool;
    }

    [Fact]
    public void Ties_go_round_robin()
    {
        var pool = Pool(Key("a"), Key("b"), Key("c"));
        var picked = Enumerable.Range(0, 6).Select(_ =>
        {
            var lease = pool.Acquire(10, null);
            pool.Report(new UsageReport(lease.Key!.Id, lease.LeaseId, 0, UpstreamOutcome.Success, null, null, null, null));
            return lease.Key!.Id;
        }).ToArray();

        Assert.Equal(["a", "b", "c", "a", "b", "c"], picked);
    }

    [Fact]
    public void Least_utilized_key_wins()
    {
        var pool = Pool(Key("a", rpm: 10), Key("b", rpm: 100));
        // One request each: a is at 10 %, b at 1 %, so b keeps winning until it catches up.
        Assert.Equal("a", pool.Acquire(1, null).Key!.Id);
        Assert.Equal("b", pool.Acquire(1, null).Key!.Id);
        Assert.Equal("b", pool.Acquire(1, null).Key!.Id);
    }

    [Fact]
    public void Request_window_slides_after_a_minute_and_the_arrival_margin()
    {
        var pool = Pool(Key("a", rpm: 2));
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);

        var refused = pool.Acquire(1, null);
        Assert.Equal(LeaseStatus.Exhausted, refused.Status);
        Assert.Equal(KeyPool.Window - TimeSpan.FromSeconds(10), refused.RetryAfter);

        _time.Advance(KeyPool.Window - TimeSpan.FromSeconds(10) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(LeaseStatus.Exhausted, pool.Acquire(1, null).Status);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);
        Assert.Equal(LeaseStatus.Exhausted, pool.Acquire(1, null).Status);
    }

    [Fact]
    public void Token_reservation_is_corrected_by_real_usage()
    {
        var pool = Pool(Key("a", tpm: 1000));
        var first = pool.Acquire(900, null);
        Assert.Equal(LeaseStatus.Exhausted, pool.Acquire(200, null).Status);

        pool.Report(new UsageReport("a", first.LeaseId, 100, UpstreamOutcome.Success, null, null, null, null));

        Assert.Equal(LeaseStatus.Granted, pool.Acquire(200, null).Status);
        Assert.Equal(300, pool.Usage().Single().TokensInWindow);
    }

    [Fact]
    public void Request_larger_than_every_key_is_too_large()
    {
        var pool = Pool(Key("a", tpm: 1000), Key("b", tpm: 2000));
        Assert.Equal(LeaseStatus.TooLarge, pool.Acquire(2001, null).Status);
        Assert.Equal("b", pool.Acquire(1500, null).Key!.Id);
    }

    [Fact]
    public void Rate_limited_key_cools_down_for_the_longest_hint()
    {
        var pool = Pool(Key("a", cooldown: 5), Key("b"));
        var lease = pool.Acquire(1, null);
        Assert.Equal("a", lease.Key!.Id);
        pool.Report(new UsageReport("a", lease.LeaseId, 0, UpstreamOutcome.RateLimited, TimeSpan.FromSeconds(20), null, null, TimeSpan.FromSeconds(7)));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("b", pool.Acquire(1, null).Key!.Id);
        }

        _time.Advance(TimeSpan.FromSeconds(19));
        Assert.Equal("b", pool.Acquire(1, null).Key!.Id);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("a", pool.Acquire(1, null).Key!.Id);
    }

    [Fact]
    public void Cooling_key_reports_when_it_frees()
    {
        var pool = Pool(Key("a", cooldown: 30));
        var lease = pool.Acquire(1, null);
        pool.Report(new UsageReport("a", lease.LeaseId, 0, UpstreamOutcome.RateLimited, null, null, null, null));
        var refused = pool.Acquire(1, null);
        Assert.Equal(LeaseStatus.Exhausted, refused.Status);
        Assert.Equal(TimeSpan.FromSeconds(30), refused.RetryAfter);
    }

    [Fact]
    public void Auth_failure_takes_the_key_out_of_rotation()
    {
        var pool = Pool(Key("a"), Key("b"));
        var lease = pool.Acquire(1, null);
        var disabled = pool.Report(new UsageReport(lease.Key!.Id, lease.LeaseId, 0, UpstreamOutcome.AuthFailed, null, null, null, null));
        Assert.NotNull(disabled);
        Assert.Equal("auth", disabled.Reason);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("b", pool.Acquire(1, null).Key!.Id);
        }

        // An admin enabling it again (the tenant pushes the key set) brings it back.
        pool.SetKeys([Key("a"), Key("b")]);
        Assert.Contains(Enumerable.Range(0, 4).Select(_ => pool.Acquire(1, null).Key!.Id), id => id == "a");
    }

    [Fact]
    public void Provider_remaining_requests_tighten_the_window()
    {
        var pool = Pool(Key("a", rpm: 1000));
        var lease = pool.Acquire(1, null);
        pool.Report(new UsageReport("a", lease.LeaseId, 5, UpstreamOutcome.Success, null, 1, null, TimeSpan.FromSeconds(3)));
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);
        var refused = pool.Acquire(1, null);
        Assert.Equal(LeaseStatus.Exhausted, refused.Status);
        Assert.Equal(TimeSpan.FromSeconds(3), refused.RetryAfter);
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);
    }

    [Fact]
    public void Excluded_and_disabled_keys_are_skipped()
    {
        var pool = Pool(Key("a"), Key("b") with { Enabled = false });
        Assert.Equal(LeaseStatus.NoKeys, pool.Acquire(1, ["a"]).Status);
        Assert.Equal("a", pool.Acquire(1, null).Key!.Id);
    }

    [Fact]
    public void Windows_survive_a_snapshot_and_restore()
    {
        var pool = Pool(Key("a", rpm: 2));
        pool.Acquire(1, null);
        pool.Acquire(1, null);
        var saved = pool.BeginSnapshot(final: true);
        pool.EndSnapshot(written: true);

        _time.Advance(TimeSpan.FromSeconds(30));
        var restored = Pool(Key("a", rpm: 2));
        restored.Restore(saved, final: true);
        var refused = restored.Acquire(1, null);
        Assert.Equal(LeaseStatus.Exhausted, refused.Status);
        Assert.Equal(KeyPool.Window - TimeSpan.FromSeconds(30), refused.RetryAfter);
    }

    [Fact]
    public void Overload_backs_off_the_whole_provider()
    {
        var pool = Pool(Key("a"), Key("b"));
        var lease = pool.Acquire(1, null);
        pool.Report(new UsageReport(lease.Key!.Id, lease.LeaseId, 0, UpstreamOutcome.ProviderOverloaded, null, null, null, null));
        var backoff = pool.Acquire(1, null);
        Assert.Equal(LeaseStatus.ProviderBackoff, backoff.Status);
        Assert.Equal(TimeSpan.FromSeconds(5), backoff.RetryAfter);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);
    }

    [Fact]
    public void Reservation_stands_when_the_provider_reported_no_usage()
    {
        var pool = Pool(Key("a", tpm: 1000));
        var lease = pool.Acquire(600, null);
        pool.Report(new UsageReport("a", lease.LeaseId, 5, UpstreamOutcome.Success, null, null, null, null, UsageKnown: false));
        Assert.Equal(600, pool.Usage().Single().TokensInWindow);

        var refused = pool.Acquire(10, null);
        pool.Report(new UsageReport("a", refused.LeaseId, 0, UpstreamOutcome.RateLimited, null, null, null, null, UsageKnown: false));
        Assert.Equal(600, pool.Usage().Single().TokensInWindow);
    }

    [Fact]
    public void Estimate_of_zero_or_less_is_refused_and_never_counted()
    {
        var pool = Pool(Key("a", tpm: 1000));

        // What max_tokens: 2147483647 made of the estimate in int arithmetic.
        var overflowed = pool.Acquire(-2147476101, null);
        var zero = pool.Acquire(0, null);

        Assert.Null(overflowed.Key);
        Assert.NotEqual(LeaseStatus.Granted, overflowed.Status);
        Assert.NotEqual(LeaseStatus.Granted, zero.Status);
        Assert.Equal(0, pool.Usage().Single().TokensInWindow);
        Assert.Equal(0, pool.Usage().Single().RequestsInWindow);
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1000, null).Status);
        Assert.Equal(LeaseStatus.Exhausted, pool.Acquire(1, null).Status);
    }

    [Fact]
    public void Negative_reported_usage_cannot_turn_off_the_token_limit()
    {
        var pool = Pool(Key("a", rpm: 100, tpm: 1000));
        var lease = pool.Acquire(10, null);

        // prompt_tokens 2147483647 + completion_tokens 1, summed in int by an older frontend.
        pool.Report(new UsageReport("a", lease.LeaseId, int.MinValue, UpstreamOutcome.Success, null, null, null, null));

        Assert.Equal(0, pool.Usage().Single().TokensInWindow);
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1000, null).Status);
        Assert.Equal(LeaseStatus.Exhausted, pool.Acquire(1000, null).Status);
    }

    [Fact]
    public void Absurd_reported_usage_is_believed_only_up_to_ten_times_max_tpm()
    {
        var pool = Pool(Key("a", rpm: 100, tpm: 1000));
        var first = pool.Acquire(10, null);
        var second = pool.Acquire(10, null);

        pool.Report(new UsageReport("a", first.LeaseId, int.MaxValue, UpstreamOutcome.Success, null, null, null, null));
        pool.Report(new UsageReport("a", second.LeaseId, int.MaxValue, UpstreamOutcome.Success, null, null, null, null));

        Assert.Equal(20_000, pool.Usage().Single().TokensInWindow);
        Assert.Equal(LeaseStatus.Exhausted, pool.Acquire(1, null).Status);

        // The key is back once the two entries slide out, not disabled for good.
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);
    }

    [Fact]
    public void Hostile_reset_and_retry_after_hints_cannot_throw_and_are_capped_at_an_hour()
    {
        var pool = Pool(Key("a"), Key("b"));
        var lease = pool.Acquire(10, null);

        pool.Report(new UsageReport(lease.Key!.Id, lease.LeaseId, 5, UpstreamOutcome.RateLimited,
            TimeSpan.MaxValue, 1_000, 1_000_000, TimeSpan.FromHours(100_000_000)));
        var other = pool.Acquire(10, null);
        pool.Report(new UsageReport(other.Key!.Id, other.LeaseId, 5, UpstreamOutcome.Success,
            null, -5, -5, TimeSpan.MaxValue));

        var cooling = pool.Usage().Single(u => u.KeyId == lease.Key.Id).CoolingUntil;
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromHours(1), cooling);
        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(10, null).Status);
    }

    [Fact]
    public void Hostile_overload_hint_backs_off_at_most_thirty_seconds()
    {
        var pool = Pool(Key("a"));
        var lease = pool.Acquire(10, null);

        pool.Report(new UsageReport("a", lease.LeaseId, 0, UpstreamOutcome.ProviderOverloaded, TimeSpan.MaxValue, null, null, null));

        Assert.Equal(TimeSpan.FromSeconds(30), pool.Acquire(10, null).RetryAfter);
    }
}
