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

    /// <summary>
    /// How long a frontend's credit lasts without a renewal. A live frontend renews every quarter second while busy and
    /// hands the credit back after two idle seconds or at shutdown; one killed outright stops renewing, and its credit's
    /// hold is released at most this (plus one save period) later.
    /// </summary>
    public static readonly TimeSpan CreditLifetime = TimeSpan.FromSeconds(30);

    /// <summary>A credit covers at most this many of the requests it was sized for (rotation's credits stop at 64 too).</summary>
    public const int MaxCreditRequests = 64;

    /// <summary>Below this many requests' worth, a credit is not worth holding: the frontend reserves per request.</summary>
    public const int MinCreditRequests = 4;

    private readonly Dictionary<long, Lease> _leases = [];
    private readonly Dictionary<long, Credit> _credits = [];

    // Random start: lease ids from an earlier activation (settled after a move or restart) never meet a new one.
    private long _nextLease = Random.Shared.NextInt64(1, long.MaxValue / 2);
    private DateOnly _day;
    private decimal _daySpent;
    private decimal _monthSpent;
    private decimal _held;

    /// <summary>Settled spend changed since <see cref="WriteTo"/> last ran (holds are not persisted).</summary>
    public bool Dirty { get; private set; }

    public int Leases => _leases.Count;

    public int Credits => _credits.Count;

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
        return new BudgetSpend(_day, _daySpent, _monthSpent, _held, _leases.Count + _credits.Count, _credits.Count);
    }

    /// <summary>
    /// Applies a credit's new spend, then sizes it. The target is a quarter of what is free to it, shared among the
    /// credits held (so two or more frontends near the limit each keep some and none takes it all), capped at
    /// <see cref="MaxCreditRequests"/> requests; below <see cref="MinCreditRequests"/> requests it is 0 and the
    /// frontend goes back to per-request reservations, which are exact to the last cent of the limit. The credit never
    /// drops below what the frontend may draw during the call (<see cref="BudgetCreditRenewal.KeepUsd"/>) unless a
    /// limit was lowered past what is counted: then it shrinks to what is in flight, at once.
    /// </summary>
    public BudgetCredit RenewCredit(BudgetCreditRenewal renewal)
    {
        Roll();
        var known = _credits.TryGetValue(renewal.CreditId, out var credit);
        // A credit this activation does not know (new, expired, or lost in a move) counts what the frontend was not told was applied.
        var applied = known ? credit!.Applied : Math.Min(renewal.SpentUsd, renewal.AckedSpentUsd);
        var delta = renewal.SpentUsd - applied;
        if (delta > 0)
        {
            _daySpent += delta;
            _monthSpent += delta;
            Dirty = true;
        }

        applied = Math.Max(applied, renewal.SpentUsd);
        var held = 0m;
        if (known)
        {
            // Spend turns what was held for it into settled spend.
            held = Math.Max(0, credit!.Held - Math.Max(0, delta));
            _held -= credit.Held - held;
        }

        if (renewal.Release)
        {
            Drop(renewal.CreditId, held);
            return new BudgetCredit(0, applied);
        }

        var room = Room(renewal.Limits);
        var holders = _credits.Count + (known ? 0 : 1);
        decimal next;
        if (room < 0)
        {
            next = Math.Min(held, Math.Max(Math.Max(0, renewal.InFlightUsd), held + room));
        }
        else
        {
            var request = Math.Max(0, renewal.RequestUsd);
            var target = Math.Min(MaxCreditRequests * request, (room + held) / (4 * holders));
            next = request > 0 && target >= MinCreditRequests * request ? target : 0;
            next = Math.Max(next, Math.Min(held, Math.Max(renewal.KeepUsd, renewal.InFlightUsd)));
        }

        if (next <= 0)
        {
            Drop(renewal.CreditId, held);
            return new BudgetCredit(0, applied);
        }

        credit ??= new Credit();
        _credits[renewal.CreditId] = credit;
        _held += next - held;
        (credit.Held, credit.Applied, credit.RenewedAt) = (next, applied, time.GetUtcNow());
        return new BudgetCredit(next, applied);
    }

    /// <summary>Drops holds older than <see cref="LeaseLifetime"/> and credits not renewed within <see cref="CreditLifetime"/>; returns how many.</summary>
    public int ExpireLeases()
    {
        var expired = 0;
        if (_credits.Count > 0)
        {
            var stale = time.GetUtcNow() - CreditLifetime;
            foreach (var (id, credit) in _credits)
            {
                if (credit.RenewedAt <= stale)
                {
                    // Its frontend went silent (killed, or cut off): it may have spent all of the credit without
                    // reporting it, so all of it counts as spent. A budget never runs over for want of a report; usage
                    // and cost reports come from the usage records and are not touched.
                    _credits.Remove(id);
                    _held -= credit.Held;
                    _daySpent += credit.Held;
                    _monthSpent += credit.Held;
                    Dirty = true;
                    expired++;
                }
            }
        }

        if (_leases.Count == 0)
        {
            return expired;
        }

        var cutoff = time.GetUtcNow() - LeaseLifetime;
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
        _credits.Clear();
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

    // What every limit leaves free once settled spend and every hold (credits included) are counted; negative when a
    // lowered limit is already passed. No limit at all: room for a full credit.
    private decimal Room(BudgetLimits limits)
    {
        var room = decimal.MaxValue / 4;
        if (limits.DailyUsd is { } daily)
        {
            room = Math.Min(room, daily - _daySpent - _held);
        }

        if (limits.MonthlyUsd is { } monthly)
        {
            room = Math.Min(room, monthly - _monthSpent - _held);
        }

        return room;
    }

    private void Drop(long creditId, decimal held)
    {
        if (_credits.Remove(creditId))
        {
            _held -= held;
        }
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

    private sealed class Credit
    {
        public decimal Held { get; set; }

        /// <summary>The cumulative spend of the credit already counted: a renewal sent twice counts once.</summary>
        public decimal Applied { get; set; }

        public DateTimeOffset RenewedAt { get; set; }
    }
}
