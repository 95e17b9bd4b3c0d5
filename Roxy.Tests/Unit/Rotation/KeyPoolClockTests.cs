using Microsoft.Extensions.Time.Testing;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Rotation;

/// <summary>The windows run on the monotonic clock: a step of the wall clock neither frees nor freezes a key.</summary>
public class KeyPoolClockTests
{
    private readonly FakeTimeProvider _monotonic = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>A machine clock: time passes with <see cref="_monotonic"/>, and the wall clock can be stepped alone.</summary>
    private sealed class SteppedClock(FakeTimeProvider inner) : TimeProvider
    {
        public TimeSpan Step { get; set; }

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + Step;

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;
    }

    private static ProviderKey Key(int rpm) =>
        new("a", "openai", "fp-a", KeySource.Config, "VAR_a", "sk-…a", rpm, 1_000_000, 60, Owner.Config, true, null);

    [Fact]
    public void Wall_clock_stepping_forward_does_not_expire_entries()
    {
        var clock = new SteppedClock(_monotonic);
        var pool = new KeyPool(clock);
        pool.SetKeys([Key(rpm: 2)]);
        pool.Acquire(1, null);
        pool.Acquire(1, null);

        clock.Step = TimeSpan.FromMinutes(5);

        Assert.Equal(LeaseStatus.Exhausted, pool.Acquire(1, null).Status);
        Assert.Equal(2, pool.Usage().Single().RequestsInWindow);
    }

    [Fact]
    public void Wall_clock_stepping_back_does_not_freeze_entries()
    {
        var clock = new SteppedClock(_monotonic);
        var pool = new KeyPool(clock);
        pool.SetKeys([Key(rpm: 2)]);
        pool.Acquire(1, null);
        pool.Acquire(1, null);

        clock.Step = -TimeSpan.FromMinutes(5);
        _monotonic.Advance(TimeSpan.FromSeconds(61));

        Assert.Equal(LeaseStatus.Granted, pool.Acquire(1, null).Status);
    }
}
