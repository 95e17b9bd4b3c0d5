namespace Roxy.Grains.Rotation;

/// <summary>
/// An exact sliding window of amounts over the last <c>span</c>: entries expire one by one, not in buckets,
/// so a key can never exceed its limit across a bucket edge. Entries carry a lease id so a reservation can be
/// corrected once the real usage is known.
/// </summary>
public sealed class SlidingWindow(TimeSpan span)
{
    private Entry[] _entries = new Entry[16];
    private int _head;
    private int _count;
    private long _sum;

    public TimeSpan Span { get; } = span;

    /// <summary>The stamp (UTC ticks) of the oldest entry, the next to slide out; <see cref="long.MaxValue"/> when empty.</summary>
    public long OldestTicks => _count > 0 ? _entries[_head].Ticks : long.MaxValue;

    public long Used(DateTimeOffset now)
    {
        Evict(now);
        return _sum;
    }

    public void Add(DateTimeOffset now, long leaseId, long amount) => AddAt(now, now, leaseId, amount);

    /// <summary>
    /// Adds an entry stamped <paramref name="at"/>, which may lie ahead of entries added later (a credit counts at
    /// the end of its lifetime). It is kept in time order so expiry stays one by one from the oldest; the few newer
    /// entries it passes are shifted.
    /// </summary>
    public void AddAt(DateTimeOffset now, DateTimeOffset at, long leaseId, long amount)
    {
        Evict(now);
        if (_count == _entries.Length)
        {
            Grow();
        }

        var ticks = at.UtcTicks;
        var i = _count;
        while (i > 0 && _entries[(_head + i - 1) % _entries.Length].Ticks > ticks)
        {
            _entries[(_head + i) % _entries.Length] = _entries[(_head + i - 1) % _entries.Length];
            i--;
        }

        _entries[(_head + i) % _entries.Length] = new Entry(ticks, leaseId, amount);
        _count++;
        _sum += amount;
    }

    /// <summary>Replaces a reservation's amount; false when it already slid out of the window.</summary>
    public bool Adjust(long leaseId, long amount)
    {
        // Corrections arrive for recent leases, so search from the newest entry back.
        for (var i = _count - 1; i >= 0; i--)
        {
            ref var e = ref _entries[(_head + i) % _entries.Length];
            if (e.LeaseId == leaseId)
            {
                _sum += amount - e.Amount;
                e = e with { Amount = amount };
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Marks a lease as reported; false when it already was, so a report sent twice (a frontend that could not tell
    /// whether its call landed sends it again) is applied once. A lease not in the window (restored, or slid out)
    /// cannot be told apart and counts as not reported.
    /// </summary>
    public bool TryMarkReported(long leaseId)
    {
        if (leaseId == 0)
        {
            // Restored entries and crash charges carry no lease.
            return true;
        }

        for (var i = _count - 1; i >= 0; i--)
        {
            ref var e = ref _entries[(_head + i) % _entries.Length];
            if (e.LeaseId == leaseId)
            {
                if (e.Reported)
                {
                    return false;
                }

                e = e with { Reported = true };
                return true;
            }
        }

        return true;
    }

    /// <summary>How long until the window holds at most <paramref name="limit"/> − <paramref name="needed"/>.</summary>
    public TimeSpan TimeUntilRoom(DateTimeOffset now, long limit, long needed)
    {
        Evict(now);
        var excess = _sum + needed - limit;
        if (excess <= 0)
        {
            return TimeSpan.Zero;
        }

        for (var i = 0; i < _count; i++)
        {
            var e = _entries[(_head + i) % _entries.Length];
            excess -= e.Amount;
            if (excess <= 0)
            {
                var frees = new DateTimeOffset(e.Ticks, TimeSpan.Zero) + Span - now;
                return frees > TimeSpan.Zero ? frees : TimeSpan.Zero;
            }
        }

        return Span;
    }

    /// <summary>
    /// The entries, shifted by <paramref name="shift"/> (to the wall clock) and merged into groups spanning under a
    /// second, each stamped with its newest entry: at most about one entry per second however busy the key, and
    /// never one that expires earlier than it would have.
    /// </summary>
    public WindowEntry[] Snapshot(DateTimeOffset now, TimeSpan shift = default)
    {
        Evict(now);
        var result = new List<WindowEntry>(Math.Min(_count, 64));
        var i = 0;
        while (i < _count)
        {
            var first = _entries[(_head + i) % _entries.Length];
            var last = first.Ticks;
            var amount = 0L;
            while (i < _count && _entries[(_head + i) % _entries.Length].Ticks - first.Ticks < TimeSpan.TicksPerSecond)
            {
                var e = _entries[(_head + i) % _entries.Length];
                last = e.Ticks;
                amount += e.Amount;
                i++;
            }

            result.Add(new WindowEntry(last + shift.Ticks, amount));
        }

        return result.ToArray();
    }

    /// <summary>
    /// Restores entries shifted by <paramref name="shift"/> (to this clock). An entry stamped ahead of now (clock
    /// skew between silos) counts from now: it may expire late, never early.
    /// </summary>
    public void Restore(DateTimeOffset now, IEnumerable<WindowEntry> entries, TimeSpan shift = default)
    {
        var cutoff = (now - Span).UtcTicks;
        foreach (var e in entries.OrderBy(e => e.Ticks))
        {
            var ticks = Math.Min(e.Ticks + shift.Ticks, now.UtcTicks);
            if (ticks > cutoff && e.Amount > 0)
            {
                Add(new DateTimeOffset(ticks, TimeSpan.Zero), 0, e.Amount);
            }
        }

        Evict(now);
    }

    private void Evict(DateTimeOffset now)
    {
        var cutoff = (now - Span).UtcTicks;
        while (_count > 0)
        {
            ref var e = ref _entries[_head];
            if (e.Ticks > cutoff)
            {
                break;
            }

            _sum -= e.Amount;
            e = default;
            _head = (_head + 1) % _entries.Length;
            _count--;
        }
    }

    private void Grow()
    {
        var bigger = new Entry[_entries.Length * 2];
        for (var i = 0; i < _count; i++)
        {
            bigger[i] = _entries[(_head + i) % _entries.Length];
        }

        _entries = bigger;
        _head = 0;
    }

    private record struct Entry(long Ticks, long LeaseId, long Amount, bool Reported = false);
}
