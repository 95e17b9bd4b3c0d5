using Roxy.Grains.Rotation;

namespace Roxy.Tests.Unit.Rotation;

public class SlidingWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Entries_expire_one_by_one()
    {
        var window = new SlidingWindow(TimeSpan.FromSeconds(60));
        window.Add(T0, 1, 10);
        window.Add(T0.AddSeconds(20), 2, 5);
        Assert.Equal(15, window.Used(T0.AddSeconds(59)));
        Assert.Equal(5, window.Used(T0.AddSeconds(60)));
        Assert.Equal(0, window.Used(T0.AddSeconds(80)));
    }

    [Fact]
    public void Time_until_room_counts_the_entries_that_must_expire()
    {
        var window = new SlidingWindow(TimeSpan.FromSeconds(60));
        window.Add(T0, 1, 40);
        window.Add(T0.AddSeconds(10), 2, 40);
        window.Add(T0.AddSeconds(20), 3, 20);
        // Limit 100, need 50: the first two entries (80) must leave; the second leaves at T0+70.
        Assert.Equal(TimeSpan.FromSeconds(40), window.TimeUntilRoom(T0.AddSeconds(30), 100, 50));
        Assert.Equal(TimeSpan.Zero, window.TimeUntilRoom(T0.AddSeconds(30), 100, 0));
    }

    [Fact]
    public void Adjust_replaces_a_reservation_and_grows_past_the_initial_capacity()
    {
        var window = new SlidingWindow(TimeSpan.FromSeconds(60));
        for (var i = 0; i < 100; i++)
        {
            window.Add(T0.AddMilliseconds(i), i, 1);
        }

        Assert.True(window.Adjust(42, 11));
        Assert.False(window.Adjust(1000, 5));
        Assert.Equal(110, window.Used(T0.AddSeconds(1)));
    }

    [Fact]
    public void An_entry_stamped_ahead_stays_in_time_order()
    {
        var window = new SlidingWindow(TimeSpan.FromSeconds(60));
        // A credit counted at T0+10 s, then two ordinary entries made before that moment.
        window.AddAt(T0, T0.AddSeconds(10), 1, 7);
        window.Add(T0.AddSeconds(1), 2, 1);
        window.Add(T0.AddSeconds(2), 3, 2);
        Assert.Equal(10, window.Used(T0.AddSeconds(60)));
        Assert.Equal(9, window.Used(T0.AddSeconds(61)));   // the T0+1 entry left first
        Assert.Equal(7, window.Used(T0.AddSeconds(62)));
        Assert.Equal(7, window.Used(T0.AddSeconds(69.9)));
        Assert.Equal(0, window.Used(T0.AddSeconds(70)));   // the credit counts until 60 s after its stamp
    }

    [Fact]
    public void Adjust_finds_an_entry_stamped_ahead()
    {
        var window = new SlidingWindow(TimeSpan.FromSeconds(60));
        window.AddAt(T0, T0.AddSeconds(1), 1, 5);
        window.Add(T0, 2, 3);
        Assert.True(window.Adjust(1, 0));
        Assert.Equal(3, window.Used(T0));
    }
}
