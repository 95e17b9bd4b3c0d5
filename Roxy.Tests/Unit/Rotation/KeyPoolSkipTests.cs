using Microsoft.Extensions.Time.Testing;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;
using Roxy.Grains.Tracing;

namespace Roxy.Tests.Unit.Rotation;

/// <summary>The keys a lease passed over and why, on a fake clock: exact cooldown and window ends.</summary>
public class KeyPoolSkipTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static ProviderKey Key(string id, int rpm = 100, int tpm = 100_000, int cooldown = 30) =>
        new(id, "openai", "fp-" + id, KeySource.Config, "VAR_" + id, "sk-…" + id, rpm, tpm, cooldown, Owner.Config, true, null);

    private KeyPool Pool(params ProviderKey[] keys)
    {
        var pool = new KeyPool(_time);
        pool.SetKeys(keys);
        return pool;
    }

    private static UsageReport Report(KeyLease lease, UpstreamOutcome outcome, long? remainingRequests = null, TimeSpan? reset = null) =>
        new(lease.Key!.Id, lease.LeaseId, 0, outcome, null, remainingRequests, null, reset);

    [Fact]
    public void Grants_among_healthy_keys_skip_nothing_even_when_one_is_busier()
    {
        var pool = Pool(Key("a", rpm: 10), Key("b", rpm: 100), Key("c"));
        for (var i = 0; i < 12; i++)
        {
            var lease = pool.Acquire(10, null);
            Assert.Equal(LeaseStatus.Granted, lease.Status);
            Assert.Null(lease.Skipped);
        }
    }

    [Fact]
    public void A_cooling_key_is_skipped_until_its_cooldown_ends()
    {
        var pool = Pool(Key("a", cooldown: 30), Key("b"));
        var first = pool.Acquire(10, ["b"]);
        pool.Report(Report(first, UpstreamOutcome.RateLimited));
        _time.Advance(TimeSpan.FromSeconds(5));

        var lease = pool.Acquire(10, null);
        Assert.Equal("b", lease.Key!.Id);
        Assert.Equal(new KeySkip("a", KeySkipReason.Cooling, _time.GetUtcNow().AddSeconds(25), null), Assert.Single(lease.Skipped!));

        // Cooled down: "a" serves again, and only "b" (excluded by this request) was passed over.
        _time.Advance(TimeSpan.FromSeconds(25));
        var again = pool.Acquire(10, ["b"]);
        Assert.Equal("a", again.Key!.Id);
        Assert.Equal(new KeySkip("b", KeySkipReason.Excluded, null, null), Assert.Single(again.Skipped!));
    }

    [Fact]
    public void A_full_window_is_no_headroom_until_it_frees()
    {
        var start = _time.GetUtcNow();
        var pool = Pool(Key("a", tpm: 1000));
        Assert.Null(pool.Acquire(900, null).Skipped);
        _time.Advance(TimeSpan.FromSeconds(10));

        var refused = pool.Acquire(200, null);
        Assert.Equal(LeaseStatus.Exhausted, refused.Status);
        Assert.Equal(new KeySkip("a", KeySkipReason.NoHeadroom, start + KeyPool.Window, "max_tpm"), Assert.Single(refused.Skipped!));
    }

    [Fact]
    public void The_providers_remaining_count_is_no_headroom_too()
    {
        var pool = Pool(Key("a"));
        var lease = pool.Acquire(1, null);
        pool.Report(Report(lease, UpstreamOutcome.Success, remainingRequests: 0, reset: TimeSpan.FromSeconds(3)));

        var refused = pool.Acquire(1, null);
        Assert.Equal(new KeySkip("a", KeySkipReason.NoHeadroom, _time.GetUtcNow().AddSeconds(3), "provider remaining"), Assert.Single(refused.Skipped!));
    }

    [Fact]
    public void A_too_large_request_lists_every_key_as_too_small()
    {
        var pool = Pool(Key("a", tpm: 1000), Key("b", tpm: 2000));
        var lease = pool.Acquire(2001, null);
        Assert.Equal(LeaseStatus.TooLarge, lease.Status);
        Assert.Equal(
            [new KeySkip("a", KeySkipReason.TooSmall, null, null, 1000), new KeySkip("b", KeySkipReason.TooSmall, null, null, 2000)],
            lease.Skipped!.OrderBy(s => s.KeyId));
    }

    [Fact]
    public void Disabled_and_excluded_keys_explain_a_lease_with_no_keys()
    {
        var pool = Pool(Key("a") with { Enabled = false, DisabledReason = "quota" }, Key("b") with { Enabled = false, DisabledReason = null }, Key("c"));
        var lease = pool.Acquire(10, ["c"]);
        Assert.Equal(LeaseStatus.NoKeys, lease.Status);
        Assert.Equal(
            [new KeySkip("a", KeySkipReason.Disabled, null, "quota"), new KeySkip("b", KeySkipReason.Disabled, null, "admin"), new KeySkip("c", KeySkipReason.Excluded, null, null)],
            lease.Skipped!.OrderBy(s => s.KeyId));

        // No key at all: nothing was passed over, and the shared answer is not copied.
        Assert.Same(KeyLease.NoKeys, Pool().Acquire(10, null));
    }

    [Fact]
    public void A_key_refused_by_the_provider_is_disabled_auth_and_an_excluded_cooling_key_says_until_when()
    {
        var pool = Pool(Key("a"), Key("b", cooldown: 20));
        var a = pool.Acquire(10, ["b"]);
        var b = pool.Acquire(10, ["a"]);
        pool.Report(Report(a, UpstreamOutcome.AuthFailed));
        pool.Report(Report(b, UpstreamOutcome.RateLimited));

        var lease = pool.Acquire(10, ["b"]);
        Assert.Equal((LeaseStatus.Exhausted, TimeSpan.FromSeconds(20)), (lease.Status, lease.RetryAfter));
        Assert.Equal(
            [new KeySkip("a", KeySkipReason.Disabled, null, "auth"), new KeySkip("b", KeySkipReason.Excluded, _time.GetUtcNow().AddSeconds(20), null)],
            lease.Skipped!.OrderBy(s => s.KeyId));
    }

    [Fact]
    public void A_provider_backoff_names_no_key_its_status_and_retry_after_explain_it()
    {
        var pool = Pool(Key("a"));
        var lease = pool.Acquire(10, null);
        pool.Report(new UsageReport("a", lease.LeaseId, 0, UpstreamOutcome.ProviderOverloaded, TimeSpan.FromSeconds(4), null, null, null));

        var backoff = pool.Acquire(10, null);
        Assert.Equal((LeaseStatus.ProviderBackoff, TimeSpan.FromSeconds(4), null), (backoff.Status, backoff.RetryAfter, backoff.Skipped));
    }

    [Fact]
    public void Grants_beside_a_disabled_key_share_one_skip_list_until_the_keys_change()
    {
        var pool = Pool(Key("a") with { Enabled = false, DisabledReason = "quota" }, Key("b"), Key("c"));
        var first = pool.Acquire(10, null);
        var second = pool.Acquire(10, null);
        Assert.Equal((LeaseStatus.Granted, LeaseStatus.Granted), (first.Status, second.Status));
        Assert.Equal(new KeySkip("a", KeySkipReason.Disabled, null, "quota"), Assert.Single(first.Skipped!));
        // The same list, not a copy per grant: a key disabled for good costs the rotation grain nothing per request.
        Assert.Same(first.Skipped, second.Skipped);

        // The admin enables it again: nothing is passed over any more.
        pool.SetKeys([Key("a"), Key("b"), Key("c")]);
        Assert.Null(pool.Acquire(10, null).Skipped);
    }

    [Fact]
    public void Grants_beside_a_cooling_key_share_one_list_until_the_cooldown_ends_or_another_key_is_refused()
    {
        var pool = Pool(Key("a", cooldown: 30), Key("b"), Key("c"));
        pool.Report(Report(pool.Acquire(10, ["b", "c"]), UpstreamOutcome.RateLimited));
        var cooling = new KeySkip("a", KeySkipReason.Cooling, _time.GetUtcNow().AddSeconds(30), null);

        var first = pool.Acquire(10, null);
        _time.Advance(TimeSpan.FromSeconds(10));
        var second = pool.Acquire(10, null);
        Assert.Equal(cooling, Assert.Single(first.Skipped!));
        Assert.Same(first.Skipped, second.Skipped);

        // The provider refuses another key: the list says so at once.
        pool.Report(Report(second, UpstreamOutcome.AuthFailed));
        var third = pool.Acquire(10, null);
        Assert.Equal([cooling, new KeySkip(second.Key!.Id, KeySkipReason.Disabled, null, "auth")], third.Skipped!.OrderBy(s => s.KeyId));

        // Cooled down: only the refused key is left in the list.
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(new KeySkip(second.Key!.Id, KeySkipReason.Disabled, null, "auth"), Assert.Single(pool.Acquire(10, null).Skipped!));
    }

    [Fact]
    public void A_key_merely_full_is_not_listed_on_a_grant_only_when_no_key_can_serve()
    {
        var start = _time.GetUtcNow();
        var pool = Pool(Key("a", rpm: 1), Key("b", rpm: 1), Key("c"));
        Assert.Equal("a", pool.Acquire(10, ["b", "c"]).Key!.Id);
        Assert.Equal("b", pool.Acquire(10, ["a", "c"]).Key!.Id);

        // "a" and "b" have used their one request; "c" serves without a list of the full ones.
        var granted = pool.Acquire(10, null);
        Assert.Equal(("c", null), (granted.Key!.Id, granted.Skipped));

        var refused = pool.Acquire(10, ["c"]);
        Assert.Equal(LeaseStatus.Exhausted, refused.Status);
        Assert.Equal(
            [new KeySkip("a", KeySkipReason.NoHeadroom, start + KeyPool.Window, "max_rpm"), new KeySkip("b", KeySkipReason.NoHeadroom, start + KeyPool.Window, "max_rpm"), new KeySkip("c", KeySkipReason.Excluded, null, null)],
            refused.Skipped!.OrderBy(s => s.KeyId));
    }
}
