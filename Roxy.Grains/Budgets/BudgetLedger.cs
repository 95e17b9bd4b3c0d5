namespace Roxy.Grains.Budgets;

/// <summary>
/// One budget's arithmetic, free of Orleans: settled spend for the current UTC day and month (a new day starts at 0
/// at UTC midnight, a new month on the 1st, both read from <paramref name="time"/>), and the holds of requests in
/// flight. A reservation is granted only if settled spend, what is held and the new worst case together stay within
/// every limit, so concurrent requests can overshoot only by how much their real cost exceeds their estimate.
/// </summary>
public sealed class BudgetLedger(TimeProvider time)
{
    /// <summary>
    /// How long a hold lasts without being settled. A frontend that died mid-request never settles; its hold would
    /// otherwise block the budget until the grain deactivates. Longer than any request Roxy lets run in practice; a
    /// request that does settle later still has its real cost counted (an unknown lease adds its spend).
    /// </summary>
    public static readonly TimeSpan LeaseLifetime = TimeSpan.FromMinutes(30);

    private readonly Dictionary<long, Lease> _leases = [];

    // Random start: lease ids from an earlier activation (settled after a move or restart) never meet a new one.
    private long _nextLease = Random.Shared.NextInt64(1, long.MaxValue / 2);
    private DateOnly _day;
    private decimal _daySpent;
    private decimal _monthSpent;
    private decimal _held;

    /// <summary>Settled spend changed since <see cref="WriteTo"/> last ran (holds are not persisted).</summary>
    public bool Dirty { get; private set; }

    public int Leases => _leases.Count;

    public void Restore(BudgetState? state)
    {
        if (state is null || state.Day == default)
        {
            _day = Today(); // nothing stored yet: nothing to write either
            return;
        }

        (_day, _daySpent, _monthSpent) = (state.Day, state.DaySpentUsd, state.MonthSpentUsd);
        Roll();
    }

    /// <summary>Copies the settled spend into <paramref name="state"/> for writing and clears <see cref="Dirty"/>.</summary>
    public void WriteTo(BudgetState state)
    {
        Roll();
        (state.Day, state.DaySpentUsd, state.MonthSpentUsd) = (_day, _daySpent, _monthSpent);
        Dirty = false;
    }

    /// <summary>After a failed write: the next period tries again.</summary>
    public void MarkDirty() => Dirty = true;

    public BudgetReservation Reserve(BudgetLimits limits, decimal worstCaseUsd)
    {
        Roll();
        var worst = Math.Max(0, worstCaseUsd);
        // The month first: a request over both limits can succeed only once the month resets.
        if (Crosses(limits.MonthlyUsd, _monthSpent, worst))
        {
            return Refusal(BudgetWindow.Monthly, limits.MonthlyUsd!.Value, _monthSpent);
        }

        if (Crosses(limits.DailyUsd, _daySpent, worst))
        {
            return Refusal(BudgetWindow.Daily, limits.DailyUsd!.Value, _daySpent);
        }

        var id = _nextLease++;
        _leases[id] = new Lease(worst, time.GetUtcNow());
        _held += worst;
        return new BudgetReservation(true, id, default, 0, 0, default);
    }

    /// <summary>Releases the lease's hold (if this ledger knows it) and counts <paramref name="actualUsd"/> as spent today.</summary>
    public void Settle(long leaseId, decimal actualUsd)
    {
        Roll();
        if (_leases.Remove(leaseId, out var lease))
        {
            _held -= lease.Amount;
        }

        if (actualUsd > 0)
        {
            _daySpent += actualUsd;
            _monthSpent += actualUsd;
            Dirty = true;
        }
    }

    public BudgetSpend Spend()
    {
        Roll();
        return new BudgetSpend(_day, _daySpent, _monthSpent, _held, _leases.Count);
    }

    /// <summary>Drops holds older than <see cref="LeaseLifetime"/>; returns how many.</summary>
    public int ExpireLeases()
    {
        if (_leases.Count == 0)
        {
            return 0;
        }

        var cutoff = time.GetUtcNow() - LeaseLifetime;
        var expired = 0;
        foreach (var (id, lease) in _leases)
        {
            if (lease.TakenAt <= cutoff)
            {
                _leases.Remove(id);
                _held -= lease.Amount;
                expired++;
            }
        }

        return expired;
    }

    public void Reset()
    {
        _leases.Clear();
        (_held, _daySpent, _monthSpent) = (0, 0, 0);
        _day = Today();
        Dirty = true;
    }

    /// <summary>The next UTC midnight, or the first of next month at 00:00 UTC.</summary>
    public static DateTimeOffset ResetsAt(BudgetWindow window, DateOnly day) => window == BudgetWindow.Daily
        ? new DateTimeOffset(day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)
        : new DateTimeOffset(new DateOnly(day.Year, day.Month, 1).AddMonths(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    // Over when settled spend, what is held and the worst case together pass the limit, or nothing is left of it.
    private bool Crosses(decimal? limit, decimal settled, decimal worst)
    {
        if (limit is not { } cap)
        {
            return false;
        }

        var counted = settled + _held;
        return counted >= cap || counted + worst > cap;
    }

    // What the refusal reports as spent is what counts against the limit: settled plus held by requests in flight.
    private BudgetReservation Refusal(BudgetWindow window, decimal limit, decimal settled) =>
        new(false, 0, window, limit, settled + _held, ResetsAt(window, _day));

    private void Roll()
    {
        var today = Today();
        if (today == _day)
        {
            return;
        }

        if (today.Year != _day.Year || today.Month != _day.Month)
        {
            _monthSpent = 0;
        }

        _daySpent = 0;
        _day = today;
        Dirty = true;
    }

    private DateOnly Today() => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    private readonly record struct Lease(decimal Amount, DateTimeOffset TakenAt);
}
