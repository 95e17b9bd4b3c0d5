using Microsoft.Extensions.Time.Testing;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Rotation;

public class KeyCreditTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static ProviderKey Key(string id, int rpm, int tpm = 10_000_000) =>
        new(id, "openai", "fp-" + id, KeySource.Config, "VAR_" + id, "sk-…" + id, rpm, tpm, 1, Owner.Config, true, null);

    private KeyPool Pool(params ProviderKey[] keys)
    {
        var pool = new KeyPool(_time);
        pool.SetKeys(keys);
        return pool;
    }

    private static long Requests(KeyPool pool, string keyId) => pool.Usage().Single(u => u.KeyId == keyId).RequestsInWindow;

    [Fact]
    public void A_key_too_small_to_serve_a_credit_within_its_lifetime_gets_none()
    {
        // 500 rpm serves less than one request per 100 ms: such a key is always leased one request at a time.
        var pool = Pool(Key("a", rpm: 500));
        Assert.Empty(pool.GrantCredits(8, 10));
        Assert.Equal(0, Requests(pool, "a"));
    }

    [Fact]
    public void Credits_spread_over_keys_like_leases_and_stop_at_each_keys_share()
    {
        // 6000 rpm serves 10 requests per 100 ms: at most 10 credits per key per top-up.
        var pool = Pool(Key("a", rpm: 6000), Key("b", rpm: 6000));
        var credits = pool.GrantCredits(64, 10);
        Assert.Equal(20, credits.Count);
        Assert.Equal(10, credits.Count(c => c.Key.Id == "a"));
        Assert.Equal(["a", "b", "a", "b"], credits.Take(4).Select(c => c.Key.Id));
        Assert.Equal(20, credits.Select(c => c.LeaseId).Distinct().Count());
        Assert.Equal(10, Requests(pool, "a"));
    }

    [Fact]
    public void No_credits_beyond_half_of_a_keys_window()
    {
        var pool = Pool(Key("a", rpm: 60_000));   // 100 per credit lifetime
        for (var i = 0; i < 29_990; i++)
        {
            Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);
        }

        // Half of 60 000 is 30 000: ten more fit, then no more credits while the window is that full.
        Assert.Equal(10, pool.GrantCredits(64, 1).Count);
        Assert.Empty(pool.GrantCredits(64, 1));
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);   // leases still go to the limit
    }

    [Fact]
    public void Token_share_limits_credits_too()
    {
        var pool = Pool(Key("a", rpm: 60_000, tpm: 1000));
        // 100 tokens each: the fifth would pass half of 1000.
        Assert.Equal(5, pool.GrantCredits(64, 100).Count);
    }

    [Fact]
    public void A_credit_counts_until_a_window_after_its_lifetime_ends()
    {
        var pool = Pool(Key("a", rpm: 6000));
        Assert.Single(pool.GrantCredits(1, 10));
        _time.Advance(KeyPool.Window);
        Assert.Equal(1, Requests(pool, "a"));
        _time.Advance(KeyCredit.Lifetime);
        Assert.Equal(0, Requests(pool, "a"));
    }

    [Fact]
    public void An_unused_credit_is_released_from_both_windows()
    {
        var pool = Pool(Key("a", rpm: 6000));
        var credit = Assert.Single(pool.GrantCredits(1, 500));
        pool.Report(new UsageReport("a", credit.LeaseId, 0, UpstreamOutcome.Unused, null, null, null, null));
        var usage = pool.Usage().Single();
        Assert.Equal(0, usage.RequestsInWindow);
        Assert.Equal(0, usage.TokensInWindow);
    }

    [Fact]
    public void Cooling_keys_and_an_overloaded_provider_give_no_credits()
    {
        var pool = Pool(Key("a", rpm: 6000), Key("b", rpm: 6000));
        var lease = pool.Acquire(1, null);
        pool.Report(new UsageReport(lease.Key!.Id, lease.LeaseId, 0, UpstreamOutcome.RateLimited, TimeSpan.FromSeconds(5), null, null, null));
        Assert.All(pool.GrantCredits(64, 1), c => Assert.NotEqual(lease.Key.Id, c.Key.Id));

        var other = pool.Acquire(1, null);
        pool.Report(new UsageReport(other.Key!.Id, other.LeaseId, 0, UpstreamOutcome.ProviderOverloaded, null, null, null, null));
        Assert.Empty(pool.GrantCredits(64, 1));
    }

    [Fact]
    public void Provider_remaining_hints_keep_room_for_a_lease()
    {
        var pool = Pool(Key("a", rpm: 6000));
        var lease = pool.Acquire(1, null);
        // The provider says 4 requests remain: credits take at most 3 of them, and the hint counts them.
        pool.Report(new UsageReport("a", lease.LeaseId, 1, UpstreamOutcome.Success, null, 4, null, TimeSpan.FromSeconds(10)));
        Assert.Equal(3, pool.GrantCredits(64, 1).Count);
        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);
        Assert.Equal(LeaseStatus.Exhausted, pool.Acquire(1, null).Status);
    }

    [Fact]
    public void Credits_spent_within_their_lifetime_never_push_a_key_over_its_limit()
    {
        // Two frontends share a 1200-rpm key (two credits per lifetime) under more demand than it allows. Each step
        // either leases, tops up, spends a held credit at the last allowed moment, or lets one expire; every
        // request actually sent must fit the 60 s window, whatever the interleaving.
        const int limit = 1200;
        var pool = Pool(Key("a", rpm: limit));
        var random = new Random(7);
        var sent = new List<DateTimeOffset>();
        var held = new List<(KeyCredit Credit, DateTimeOffset Deadline)>[] { [], [] };
        var spentCredits = 0;
        var end = _time.GetUtcNow().AddMinutes(3);
        while (_time.GetUtcNow() < end)
        {
            var frontend = held[random.Next(2)];
            var now = _time.GetUtcNow();
            switch (random.Next(4))
            {
                case 0:
                    if (pool.Acquire(1, null).Status == LeaseStatus.Granted)
                    {
                        sent.Add(now);
                    }

                    break;
                case 1:
                    frontend.AddRange(pool.GrantCredits(8, 1).Select(c => (c, now + KeyCredit.Lifetime)));
                    break;
                default:
                    if (frontend.Count > 0)
                    {
                        var (credit, deadline) = frontend[0];
                        frontend.RemoveAt(0);
                        if (deadline < now || random.Next(3) == 0)
                        {
                            pool.Report(new UsageReport("a", credit.LeaseId, 0, UpstreamOutcome.Unused, null, null, null, null));
                        }
                        else
                        {
                            // Spent as late as the rules allow: at the deadline itself.
                            _time.Advance(deadline - now);
                            sent.Add(deadline);
                            spentCredits++;
                        }
                    }

                    break;
            }

            // About 50 lease attempts a second: far more than the key's 20 a second.
            _time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 10)));
        }

        Assert.True(sent.Count > 2 * limit, $"the run should hit the limit several times; {sent.Count} requests were sent");
        Assert.True(spentCredits > 10, $"credits should be spent too; {spentCredits} were");
        for (int first = 0, last = 0; last < sent.Count; last++)
        {
            while (sent[first] <= sent[last] - KeyPool.Window)
            {
                first++;
            }

            Assert.True(last - first + 1 <= limit, $"{last - first + 1} requests within 60 s ending {sent[last]:O}");
        }
    }
}
