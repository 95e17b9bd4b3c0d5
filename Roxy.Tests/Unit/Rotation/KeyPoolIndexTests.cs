using Microsoft.Extensions.Time.Testing;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Rotation;

/// <summary>
/// The pool's index of ready keys (least utilized first) must pick exactly what a scan of every key picks; these tests
/// run both side by side, and check that a large pool keeps the same rotation as a small one.
/// </summary>
public class KeyPoolIndexTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static ProviderKey Key(string id, int rpm, int tpm, int cooldown = 5) =>
        new(id, "openai", "fp-" + id, KeySource.Config, "VAR_" + id, "sk-…" + id, rpm, tpm, cooldown, Owner.Config, true, null);

    [Fact]
    public void Index_grants_what_a_scan_of_every_key_grants()
    {
        var random = new Random(13);
        var keys = Enumerable.Range(0, 40).Select(i => Key($"k{i:D2}", rpm: random.Next(2, 9), tpm: random.Next(300, 3000))).ToArray();
        // With no reorder slack the index is exact, so the two pools must agree on every answer.
        var indexed = new KeyPool(_time) { ReorderSlack = TimeSpan.Zero };
        var scanned = new KeyPool(_time) { ReorderSlack = TimeSpan.Zero, ScanOnly = true };
        indexed.SetKeys(keys);
        scanned.SetKeys(keys);
        var open = new List<KeyLease>();
        var grants = 0;
        var refusals = 0;
        var end = _time.GetUtcNow().AddMinutes(6);
        while (_time.GetUtcNow() < end)
        {
            switch (random.Next(10))
            {
                case < 5:
                    {
                        var estimate = random.Next(1, 300);
                        IReadOnlyList<string>? exclude = random.Next(8) == 0 ? [keys[random.Next(keys.Length)].Id] : null;
                        var a = indexed.Acquire(estimate, exclude);
                        var b = scanned.Acquire(estimate, exclude);
                        Assert.Equal(b.Status, a.Status);
                        Assert.Equal(b.Key?.Id, a.Key?.Id);
                        Assert.Equal(b.LeaseId, a.LeaseId);
                        Assert.Equal(b.RetryAfter, a.RetryAfter);
                        Assert.Equal(b.Skipped?.Select(s => (s.KeyId, s.Reason)), a.Skipped?.Select(s => (s.KeyId, s.Reason)));
                        if (a.Status == LeaseStatus.Granted)
                        {
                            grants++;
                            open.Add(a);
                        }
                        else
                        {
                            refusals++;
                        }

                        break;
                    }

                case < 8 when open.Count > 0:
                    {
                        var lease = open[random.Next(open.Count)];
                        open.Remove(lease);
                        var report = random.Next(12) switch
                        {
                            0 => new UsageReport(lease.Key!.Id, lease.LeaseId, 0, UpstreamOutcome.RateLimited, TimeSpan.FromSeconds(random.Next(1, 20)), null, null, null),
                            1 => new UsageReport(lease.Key!.Id, lease.LeaseId, 0, UpstreamOutcome.Unused, null, null, null, null),
                            2 => new UsageReport(lease.Key!.Id, lease.LeaseId, 10, UpstreamOutcome.Success, null, random.Next(0, 3), null, TimeSpan.FromSeconds(2)),
                            3 when random.Next(5) == 0 => new UsageReport(lease.Key!.Id, lease.LeaseId, 0, UpstreamOutcome.AuthFailed, null, null, null, null),
                            _ => new UsageReport(lease.Key!.Id, lease.LeaseId, random.Next(0, 600), UpstreamOutcome.Success, null, null, null, null),
                        };
                        Assert.Equal(scanned.Report(report)?.KeyId, indexed.Report(report)?.KeyId);
                        break;
                    }

                case 8:
                    {
                        var credits = random.Next(1, 20);
                        var tokens = random.Next(1, 100);
                        var a = indexed.GrantCredits(credits, tokens);
                        var b = scanned.GrantCredits(credits, tokens);
                        Assert.Equal(b.Select(c => (c.Key.Id, c.LeaseId)), a.Select(c => (c.Key.Id, c.LeaseId)));
                        break;
                    }

                default:
                    _time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 1000)));
                    break;
            }

            if (random.Next(400) == 0)
            {
                // An admin change: every key back, one disabled.
                var changed = keys.Select((k, i) => i == random.Next(keys.Length) ? k with { Enabled = false } : k).ToArray();
                indexed.SetKeys(changed);
                scanned.SetKeys(changed);
            }
        }

        Assert.Equal(scanned.Usage(), indexed.Usage());
        Assert.True(grants > 1000 && refusals > 100, $"the run should both grant and refuse often: {grants} grants, {refusals} refusals");
    }

    [Fact]
    public void A_thousand_equal_keys_take_turns_as_four_do()
    {
        var keys = Enumerable.Range(0, 1000).Select(i => Key($"k{i:D4}", rpm: 1000, tpm: 1_000_000)).ToArray();
        var pool = new KeyPool(_time);
        pool.SetKeys(keys);
        var picked = new List<string>();
        for (var i = 0; i < 3000; i++)
        {
            var lease = pool.Acquire(10, null);
            Assert.Equal(LeaseStatus.Granted, lease.Status);
            pool.Report(new UsageReport(lease.Key!.Id, lease.LeaseId, 10, UpstreamOutcome.Success, null, null, null, null));
            picked.Add(lease.Key.Id);
            _time.Advance(TimeSpan.FromMilliseconds(5));
        }

        // Each key once per round, in list order, round after round.
        Assert.Equal(Enumerable.Repeat(keys.Select(k => k.Id), 3).SelectMany(ids => ids), picked);
    }

    [Fact]
    public void A_large_pool_skips_cooling_keys_until_their_cooldown_ends()
    {
        var keys = Enumerable.Range(0, 500).Select(i => Key($"k{i:D3}", rpm: 1000, tpm: 1_000_000, cooldown: 30)).ToArray();
        var pool = new KeyPool(_time);
        pool.SetKeys(keys);
        // Every key but the last is rate limited once.
        for (var i = 0; i < keys.Length - 1; i++)
        {
            var lease = pool.Acquire(10, null);
            pool.Report(new UsageReport(lease.Key!.Id, lease.LeaseId, 0, UpstreamOutcome.RateLimited, null, null, null, null));
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("k499", pool.Acquire(10, null).Key!.Id);
        }

        _time.Advance(TimeSpan.FromSeconds(30));
        var after = Enumerable.Range(0, 100).Select(_ => pool.Acquire(10, null).Key!.Id).ToHashSet();
        Assert.Equal(100, after.Count);
        Assert.DoesNotContain("k499", after);
    }
}
