using Microsoft.Extensions.Time.Testing;
using Roxy.Api.Proxy;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Proxy;

public class RotationChannelTests
{
    private static readonly ProviderKey KeyA = new("a", "openai", "fp-a", KeySource.Config, "VAR_A", "sk-…a", 60_000, 10_000_000, 1, Owner.Config, true, null);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>A rotation grain in memory: a real <see cref="KeyPool"/> behind the grain's interface, counting calls.</summary>
    private sealed class CountingGrain : IRotationGrain
    {
        private readonly KeyPool _pool;

        public CountingGrain(TimeProvider time)
        {
            _pool = new KeyPool(time);
            _pool.SetKeys([KeyA]);
        }

        public int Acquires { get; private set; }
        public int TopUps { get; private set; }
        public List<UsageReport> Reports { get; } = [];
        public KeyPool Pool => _pool;

        public ValueTask<KeyLease> AcquireAsync(AcquireRequest request)
        {
            Acquires++;
            Apply(request.Reports);
            return ValueTask.FromResult(_pool.Acquire(request.EstimatedTokens, request.ExcludeKeyIds));
        }

        public ValueTask<IReadOnlyList<KeyCredit>> TopUpAsync(CreditRequest request)
        {
            TopUps++;
            Apply(request.Reports);
            return ValueTask.FromResult(_pool.GrantCredits(request.Credits, request.Tokens));
        }

        public ValueTask ReportAsync(UsageReport report)
        {
            Apply([report]);
            return ValueTask.CompletedTask;
        }

        public ValueTask ReportManyAsync(IReadOnlyList<UsageReport> reports)
        {
            Apply(reports);
            return ValueTask.CompletedTask;
        }

        public Task SetKeysAsync(IReadOnlyList<ProviderKey> keys) => Task.CompletedTask;

        public ValueTask<IReadOnlyList<KeyUsage>> GetUsageAsync() => ValueTask.FromResult(_pool.Usage());

        private void Apply(IReadOnlyList<UsageReport>? reports)
        {
            foreach (var report in reports ?? [])
            {
                Reports.Add(report);
                _pool.Report(report);
            }
        }
    }

    private static UsageReport Success(KeyLease lease, int tokens) =>
        new(lease.Key!.Id, lease.LeaseId, tokens, UpstreamOutcome.Success, null, null, null, null);

    [Fact]
    public async Task A_quiet_channel_asks_the_grain_for_every_request()
    {
        var grain = new CountingGrain(_time);
        var channel = new RotationChannel(grain, _time);
        for (var i = 0; i < 5; i++)
        {
            var lease = await channel.AcquireAsync(100, null);
            Assert.Equal(LeaseStatus.Granted, lease.Status);
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(5, grain.Acquires);
        Assert.Equal(0, grain.TopUps);
        Assert.Equal(0, channel.HeldCredits);
    }

    [Fact]
    public async Task A_busy_channel_spends_credits_instead_of_calls_and_accounts_every_request_once()
    {
        var grain = new CountingGrain(_time);
        var channel = new RotationChannel(grain, _time);
        var served = 0;
        async Task ServeAsync(int steps)
        {
            // Four requests per millisecond: a busy frontend.
            for (var step = 0; step < steps; step++)
            {
                for (var i = 0; i < 4; i++)
                {
                    var lease = await channel.AcquireAsync(100, null);
                    Assert.Equal(LeaseStatus.Granted, lease.Status);
                    channel.Defer(Success(lease, 30), _time.GetTimestamp());
                    served++;
                }

                _time.Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        // The first rate period only learns the demand; after it, requests spend credits, topped up in batches.
        await ServeAsync(100);
        var (acquires, topUps, before) = (grain.Acquires, grain.TopUps, served);
        await ServeAsync(500);
        Assert.Equal(acquires, grain.Acquires);
        Assert.InRange(grain.TopUps - topUps, 1, (served - before) / 16);

        // Everything handed back and flushed: the window holds exactly the requests served, with their real tokens.
        await channel.FlushAsync(_time.GetTimestamp(), 0, force: true);
        Assert.Equal(0, channel.HeldCredits);
        var usage = grain.Pool.Usage().Single();
        Assert.Equal(served, usage.RequestsInWindow);
        Assert.Equal(served * 30L, usage.TokensInWindow);
    }

    [Fact]
    public async Task Expired_credits_go_back_as_unused_and_are_never_spent()
    {
        var grain = new CountingGrain(_time);
        var channel = new RotationChannel(grain, _time);
        await BuildDemandAsync(channel);
        Assert.True(channel.HeldCredits > 0);

        _time.Advance(KeyCredit.Lifetime);
        await channel.FlushAsync(_time.GetTimestamp(), 0, force: false);
        Assert.Equal(0, channel.HeldCredits);
        Assert.Contains(grain.Reports, r => r.Outcome == UpstreamOutcome.Unused);

        var acquires = grain.Acquires;
        await channel.AcquireAsync(100, null);
        Assert.Equal(acquires + 1, grain.Acquires);
    }

    [Fact]
    public async Task A_request_larger_than_the_credits_asks_the_grain_and_leaves_them()
    {
        var grain = new CountingGrain(_time);
        var channel = new RotationChannel(grain, _time);
        await BuildDemandAsync(channel);
        var acquires = grain.Acquires;
        var held = channel.HeldCredits;

        var lease = await channel.AcquireAsync(10_000, null);
        Assert.Equal(10_000, lease.ReservedTokens);
        Assert.Equal(acquires + 1, grain.Acquires);
        Assert.Equal(held, channel.HeldCredits);
    }

    [Fact]
    public async Task A_failure_hands_back_every_credit_held()
    {
        var grain = new CountingGrain(_time);
        var channel = new RotationChannel(grain, _time);
        var lease = await BuildDemandAsync(channel);
        var held = channel.HeldCredits;
        Assert.True(held > 0);

        await channel.ReportNowAsync(new UsageReport(lease.Key!.Id, lease.LeaseId, 0, UpstreamOutcome.RateLimited, TimeSpan.FromSeconds(5), null, null, null));
        Assert.Equal(0, channel.HeldCredits);

        // The next call carries them back as unused; the key cools down, so nothing is granted either.
        var next = await channel.AcquireAsync(100, null);
        Assert.Equal(LeaseStatus.Exhausted, next.Status);
        Assert.Equal(held, grain.Reports.Count(r => r.Outcome == UpstreamOutcome.Unused));
    }

    [Fact]
    public async Task A_retry_that_excludes_keys_never_spends_a_credit()
    {
        var grain = new CountingGrain(_time);
        var channel = new RotationChannel(grain, _time);
        await BuildDemandAsync(channel);
        var held = channel.HeldCredits;
        var acquires = grain.Acquires;

        await channel.AcquireAsync(100, ["b"]);
        Assert.Equal(acquires + 1, grain.Acquires);
        Assert.Equal(held, channel.HeldCredits);
    }

    /// <summary>Two rate periods of steady traffic, after which the channel holds credits.</summary>
    private async Task<KeyLease> BuildDemandAsync(RotationChannel channel)
    {
        KeyLease lease = KeyLease.NoKeys;
        for (var i = 0; i < 40; i++)
        {
            lease = await channel.AcquireAsync(100, null);
            _time.Advance(TimeSpan.FromMilliseconds(5));
        }

        // One more request after the demand is known starts the top-up.
        await channel.AcquireAsync(100, null);
        return lease;
    }
}
