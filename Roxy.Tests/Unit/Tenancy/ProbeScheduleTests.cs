using Microsoft.Extensions.Time.Testing;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Tenancy;

/// <summary>When a refused key is probed: once per interval, backing off while probes bring it back in vain.</summary>
public class ProbeScheduleTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(180);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Refused_key_is_due_once_per_interval()
    {
        var schedule = new ProbeSchedule(_time);
        schedule.Refused("k", "quota");

        Assert.False(schedule.TryClaim("k", Interval));
        _time.Advance(Interval);
        Assert.True(schedule.TryClaim("k", Interval));
        Assert.False(schedule.TryClaim("k", Interval));
        _time.Advance(Interval);
        Assert.True(schedule.TryClaim("k", Interval));
    }

    [Fact]
    public void Key_refused_before_this_activation_waits_one_interval()
    {
        var schedule = new ProbeSchedule(_time);

        Assert.False(schedule.TryClaim("k", Interval));
        _time.Advance(Interval - TimeSpan.FromSeconds(1));
        Assert.False(schedule.TryClaim("k", Interval));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(schedule.TryClaim("k", Interval));
    }

    [Fact]
    public void Each_relapse_after_a_probe_doubles_the_interval_up_to_an_hour()
    {
        var schedule = new ProbeSchedule(_time);
        schedule.Refused("k", "quota");
        var waits = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            waits.Add(WaitUntilDue(schedule).TotalSeconds);
            // The probe said yes, a real request said no again a minute later.
            schedule.Returned("k", "quota");
            _time.Advance(TimeSpan.FromMinutes(1));
            schedule.Refused("k", "quota");
        }

        Assert.Equal([180, 360, 720, 1440, 2880, 3600, 3600], waits);
    }

    [Fact]
    public void A_key_that_served_for_an_hour_or_an_admins_decision_starts_over()
    {
        var schedule = new ProbeSchedule(_time);
        schedule.Refused("k", "quota");
        WaitUntilDue(schedule);
        schedule.Returned("k", "quota");
        schedule.Refused("k", "quota");
        Assert.Equal(360, WaitUntilDue(schedule).TotalSeconds);

        schedule.Returned("k", "quota");
        _time.Advance(ProbeSchedule.MaxBackoff);
        schedule.Refused("k", "quota");
        Assert.Equal(180, WaitUntilDue(schedule).TotalSeconds);

        schedule.Returned("k", "quota");
        schedule.Refused("k", "quota");
        schedule.Forget("k");
        schedule.Refused("k", "quota");
        Assert.Equal(180, WaitUntilDue(schedule).TotalSeconds);

        // A refusal for another reason is a new story too.
        schedule.Returned("k", "quota");
        schedule.Refused("k", "auth");
        Assert.Equal(180, WaitUntilDue(schedule).TotalSeconds);
    }

    [Theory]
    [InlineData(180, 0, 180)]
    [InlineData(180, 4, 2880)]
    [InlineData(180, 5, 3600)]
    [InlineData(180, 1000, 3600)]
    [InlineData(7200, 3, 7200)]
    public void Interval_doubles_per_relapse_and_is_capped(int seconds, int relapses, int expected) =>
        Assert.Equal(TimeSpan.FromSeconds(expected), ProbeSchedule.Interval(TimeSpan.FromSeconds(seconds), relapses));

    /// <summary>Advances the clock a second at a time until the key is due; returns how long that took.</summary>
    private TimeSpan WaitUntilDue(ProbeSchedule schedule)
    {
        var waited = TimeSpan.Zero;
        while (!schedule.TryClaim("k", Interval))
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            waited += TimeSpan.FromSeconds(1);
        }

        return waited;
    }
}
