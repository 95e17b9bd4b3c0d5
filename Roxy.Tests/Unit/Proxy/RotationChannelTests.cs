using Microsoft.Extensions.Time.Testing;
using Roxy.Api.Proxy;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Unit.Proxy;

public class RotationChannelTests
{
    private static readonly ProviderKey KeyA = new("a", "openai", "fp-a", KeySource.Config, "VAR_A", "sk-…a", 60_000, 10_000_000, 1, Owner.Config, true, null);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>A rotation grain in memory: a real <see cref="KeyPool"/> behind the grain's interface, counting calls.</summary>
    private sealed class CountingGrain : IRotationGrain
    {
        public CountingGrain(TimeProvider time)
        {
            Pool = new KeyPool(time);
            Pool.SetKeys([KeyA]);
        }

        public int Acquires { get; private set; }
        public int TopUps { get; private set; }
        public List<UsageReport> Reports { get; } = [];
        public KeyPool Pool { get; }

        public ValueTask<KeyLease> AcquireAsync(AcquireRequest request)
        {
            Acquires++;
            Apply(request.Reports);
            return ValueTask.FromResult(Pool.Acquire(request.EstimatedTokens, request.ExcludeKeyIds));
        }

        public ValueTask<IReadOnlyList<KeyCredit>> TopUpAsync(CreditRequest request)
        {
            TopUps++;
            Apply(request.Reports);
            return ValueTask.FromResult(Pool.GrantCredits(request.Credits, request.Tokens));
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

        public ValueTask<IReadOnlyList<KeyUsage>> GetUsageAsync() => ValueTask.FromResult(Pool.Usage());

        private void Apply(IReadOnlyList<UsageReport>? reports)
        {
            foreach (var report in reports ?? [])
            {
                Reports.Add(report);
                Pool.Report(report);
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

    /// <summary>A grain on a slow (not dead) silo: each call answers when the test says so.</summary>
    private sealed class SlowGrain : IRotationGrain
    {
        public List<TaskCompletionSource<KeyLease>> Acquires { get; } = [];
        public List<TaskCompletionSource<IReadOnlyList<KeyCredit>>> TopUps { get; } = [];
        public List<TaskCompletionSource> ReportCalls { get; } = [];
        public List<UsageReport> Reports { get; } = [];

        public ValueTask<KeyLease> AcquireAsync(AcquireRequest request)
        {
            Reports.AddRange(request.Reports ?? []);
            var answer = new TaskCompletionSource<KeyLease>(TaskCreationOptions.RunContinuationsAsynchronously);
            Acquires.Add(answer);
            return new ValueTask<KeyLease>(answer.Task);
        }

        public ValueTask<IReadOnlyList<KeyCredit>> TopUpAsync(CreditRequest request)
        {
            Reports.AddRange(request.Reports ?? []);
            var answer = new TaskCompletionSource<IReadOnlyList<KeyCredit>>(TaskCreationOptions.RunContinuationsAsynchronously);
            TopUps.Add(answer);
            return new ValueTask<IReadOnlyList<KeyCredit>>(answer.Task);
        }

        public ValueTask ReportAsync(UsageReport report)
        {
            var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ReportCalls.Add(answer);
            return new ValueTask(answer.Task);
        }

        public ValueTask ReportManyAsync(IReadOnlyList<UsageReport> reports)
        {
            Reports.AddRange(reports);
            return ValueTask.CompletedTask;
        }

        public Task SetKeysAsync(IReadOnlyList<ProviderKey> keys) => Task.CompletedTask;

        public ValueTask<IReadOnlyList<KeyUsage>> GetUsageAsync() => ValueTask.FromResult<IReadOnlyList<KeyUsage>>([]);
    }

    [Fact]
    public async Task A_lease_granted_after_the_call_deadline_goes_back_as_unused()
    {
        var grain = new SlowGrain();
        var channel = new RotationChannel(grain, _time);

        var call = channel.AcquireAsync(100, null).AsTask();
        _time.Advance(RotationChannel.CallDeadline);
        await Assert.ThrowsAsync<TimeoutException>(() => call);

        // The silo was slow, not dead: the abandoned call still reserved a slot on a key.
        grain.Acquires[0].SetResult(new KeyLease(LeaseStatus.Granted, KeyA, 42, 100, TimeSpan.Zero));
        await Eventually.TrueAsync(async () =>
        {
            await channel.FlushAsync(_time.GetTimestamp(), 0, force: true);
            return grain.Reports.Count > 0;
        }, because: "the late lease was never handed back");

        var unused = Assert.Single(grain.Reports);
        Assert.Equal((42L, UpstreamOutcome.Unused), (unused.LeaseId, unused.Outcome));
    }

    [Fact]
    public async Task Credits_granted_after_the_call_deadline_go_back_as_unused()
    {
        var grain = new SlowGrain();
        var channel = new RotationChannel(grain, _time);
        for (var i = 0; i < 41; i++)
        {
            var acquire = channel.AcquireAsync(100, null).AsTask();
            if (!acquire.IsCompleted)
            {
                grain.Acquires[^1].SetResult(new KeyLease(LeaseStatus.Granted, KeyA, i + 1, 100, TimeSpan.Zero));
                await acquire;
            }

            _time.Advance(TimeSpan.FromMilliseconds(5));
        }

        var topUp = Assert.Single(grain.TopUps);
        _time.Advance(RotationChannel.CallDeadline);
        topUp.SetResult([new KeyCredit(KeyA, 100, 125), new KeyCredit(KeyA, 101, 125)]);
        await Eventually.TrueAsync(async () =>
        {
            await channel.FlushAsync(_time.GetTimestamp(), 0, force: true);
            return grain.Reports.Count(r => r.Outcome == UpstreamOutcome.Unused) >= 2;
        }, because: "the late credits were never handed back");

        Assert.Equal(0, channel.HeldCredits);
        Assert.Equal([100L, 101L], grain.Reports.Where(r => r.Outcome == UpstreamOutcome.Unused).Select(r => r.LeaseId).Order());
    }

    [Fact]
    public async Task A_failure_report_to_a_hung_silo_is_queued_instead_of_failing_the_request()
    {
        var grain = new SlowGrain();
        var channel = new RotationChannel(grain, _time);
        var limited = new UsageReport("a", 7, 0, UpstreamOutcome.RateLimited, TimeSpan.FromSeconds(5), null, null, null);

        var report = channel.ReportNowAsync(limited).AsTask();
        _time.Advance(RotationChannel.CallDeadline);
        // Orleans' own response timeout, long after the deadline.
        _time.Advance(TimeSpan.FromSeconds(30));
        grain.ReportCalls[0].SetException(new TimeoutException("Response did not arrive on time"));
        await report;

        // It rides along with the next call, which reaches the grain's new activation.
        _ = channel.AcquireAsync(100, null).AsTask();
        Assert.Equal(limited, Assert.Single(grain.Reports));
    }
}
