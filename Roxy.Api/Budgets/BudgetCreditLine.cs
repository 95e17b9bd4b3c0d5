using Roxy.Grains.Budgets;

namespace Roxy.Api.Budgets;

/// <summary>
/// One frontend's line to one budget grain, with the credit it may hold there: a slice of the remaining budget the
/// grain holds for this frontend, so a busy tenant's requests draw their worst case here, under a tiny lock, instead of
/// making a grain call each. Their real cost is settled here too and reported, cumulative, with the next renewal
/// (every quarter second while busy via <see cref="BudgetCreditFlusher"/>, or at once when the credit runs low).
/// </summary>
/// <remarks>
/// A line asks for a credit only once two requests came within <see cref="BusyGap"/>: a quiet tenant reserves per
/// request as before, exact and without holding budget it does not use. While a renewal is in flight the line lends
/// back half of what is left to draw, and the grain keeps at least the other half: requests go on drawing during the
/// call without ever drawing what the grain may have given to another frontend. A credit given up on (idle for
/// <see cref="IdleAfter"/>, or at shutdown) is released; a request drawn from it that ends afterwards settles its
/// cost with a one-way call, which the grain counts as spend.
/// </remarks>
public sealed class BudgetCreditLine(IBudgetGrain grain, TimeProvider time, ILogger logger)
{
    /// <summary>Two requests closer than this make a line busy enough to hold a credit.</summary>
    public static readonly TimeSpan BusyGap = TimeSpan.FromMilliseconds(250);

    /// <summary>A credit not drawn on for this long, with nothing in flight, is handed back.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(2);

    // A refused or empty credit is asked for again no sooner than this; a granted one may be renewed again this soon.
    private static readonly TimeSpan RefusedBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RenewBackoff = TimeSpan.FromMilliseconds(50);

    private readonly long _busyTicks = Ticks(BusyGap, time);
    private readonly long _idleTicks = Ticks(IdleAfter, time);
    private readonly long _refusedTicks = Ticks(RefusedBackoff, time);
    private readonly long _renewTicks = Ticks(RenewBackoff, time);
    private readonly Lock _lock = new();

    // All under _lock. The grain's view of the credit: _held after applying _acked of the cumulative _spent.
    private long _creditId = NewId();
    private decimal _held;
    private decimal _spent;
    private decimal _acked;
    private decimal _inFlight;
    private BudgetLimits? _limits;
    private decimal _request;
    private long _lastUse;
    private long _previousUse;
    private long _nextAsk;
    private bool _renewing;
    private Task _renewal = Task.CompletedTask;
    private long _draws;

    public IBudgetGrain Grain { get; } = grain;

    /// <summary>
    /// Draws <paramref name="worstUsd"/> from the credit, if one is held under the same <paramref name="limits"/> and has
    /// room; otherwise the caller reserves with the grain. Either way, a busy line renews or asks for a credit in the
    /// background. Limits that changed (a budget set by chat or API) are never drawn against: the grain reserves under
    /// them and the renewal started here shrinks the credit to them.
    /// </summary>
    public bool TryDraw(BudgetLimits limits, decimal worstUsd, out long creditId)
    {
        var now = time.GetTimestamp();
        bool drew, renew;
        lock (_lock)
        {
            (_previousUse, _lastUse) = (_lastUse, now);
            _request = worstUsd;
            creditId = _creditId;
            if (_limits is null || _limits != limits)
            {
                // Nothing more is drawn until the grain has sized the credit under the new limits.
                _limits = limits;
                _held = Math.Min(_held, _inFlight + (_spent - _acked));
                drew = false;
                renew = _held > 0 || (now - _previousUse < _busyTicks);
                _nextAsk = 0;
            }
            else
            {
                var available = _held - (_spent - _acked) - _inFlight;
                drew = available >= worstUsd;
                if (drew)
                {
                    _draws++;
                    _inFlight += worstUsd;
                    available -= worstUsd;
                }

                // Low: a quarter of the credit or less is left. No credit: ask once two requests came close together.
                renew = _held > 0 ? available * 4 <= _held : now - _previousUse < _busyTicks;
            }

            renew = renew && !_renewing && now >= _nextAsk;
            if (renew)
            {
                _renewing = true;
            }
        }

        if (renew)
        {
            Start(release: false);
        }

        return drew;
    }

    /// <summary>
    /// Ends a request drawn from credit <paramref name="creditId"/>: its draw goes back and its cost is counted, to be
    /// reported with the next renewal. A credit released since gets the cost as a one-way settle instead.
    /// </summary>
    public void Settle(long creditId, decimal worstUsd, decimal actualUsd)
    {
        lock (_lock)
        {
            if (creditId == _creditId)
            {
                _inFlight -= worstUsd;
                _spent += Math.Max(0, actualUsd);
                return;
            }
        }

        if (actualUsd > 0)
        {
            BudgetGate.SendSettle(Grain, 0, actualUsd, logger);
        }
    }

    /// <summary>
    /// The periodic step (<see cref="BudgetCreditFlusher"/>): a busy credit is renewed with its spend, an idle one (or
    /// every one, when <paramref name="final"/>) is released. A line with nothing held and nothing to report costs nothing.
    /// </summary>
    public Task FlushAsync(bool final)
    {
        var now = time.GetTimestamp();
        bool release;
        lock (_lock)
        {
            if (_renewing)
            {
                // At shutdown the credit is released once the renewal under way has answered.
                return final ? _renewal.ContinueWith(_ => FlushAsync(final: true), TaskScheduler.Default).Unwrap() : Task.CompletedTask;
            }

            if (_held <= 0 && _spent == _acked)
            {
                return Task.CompletedTask;
            }

            release = final || (now - _lastUse >= _idleTicks && _inFlight <= 0);
            _renewing = true;
        }

        return Start(release);
    }

    /// <summary>Requests drawn from a credit so far (tests read it to see the grain was left alone).</summary>
    public long Draws
    {
        get
        {
            lock (_lock)
            {
                return _draws;
            }
        }
    }

    // Called with _renewing set.
    private Task Start(bool release)
    {
        var renewal = RenewAsync(release);
        lock (_lock)
        {
            if (_renewing)
            {
                _renewal = renewal;
            }
        }

        return renewal;
    }

    /// <summary>What the line holds now (for tests and traces): the credit's amount and what is drawn from it.</summary>
    public (decimal HeldUsd, decimal InFlightUsd) Credit
    {
        get
        {
            lock (_lock)
            {
                return (_held, _inFlight);
            }
        }
    }

    // Called with _renewing set; clears it.
    private async Task RenewAsync(bool release)
    {
        BudgetCreditRenewal renewal;
        lock (_lock)
        {
            var unreported = _spent - _acked;
            var available = Math.Max(0, _held - unreported - _inFlight);
            // Lend half of what is left back for the call (all of it when releasing): draws meanwhile stay within the rest.
            _held -= release ? available : available / 2;
            var keep = Math.Max(0, _held - unreported);
            renewal = new BudgetCreditRenewal(_creditId, _limits ?? new BudgetLimits(null, null), _spent, _acked, _inFlight, keep,
                _request + (_request / 4), release);
            if (release)
            {
                // Draws still out settle one-way; a new credit starts from nothing.
                (_creditId, _held, _spent, _acked, _inFlight) = (NewId(), 0, 0, 0, 0);
            }
        }

        try
        {
            var answer = await Grain.RenewCreditAsync(renewal).WaitAsync(Proxy.RotationChannel.CallDeadline, time);
            lock (_lock)
            {
                if (renewal.CreditId == _creditId)
                {
                    _acked = Math.Max(_acked, answer.AppliedSpentUsd);
                    // Sized under limits that changed meanwhile: draw nothing more until a renewal under the new ones.
                    _held = _limits == renewal.Limits ? answer.HeldUsd : Math.Min(answer.HeldUsd, _inFlight + (_spent - _acked));
                    _nextAsk = time.GetTimestamp() + (answer.HeldUsd > 0 ? _renewTicks : _refusedTicks);
                }
            }
        }
        catch (Exception ex)
        {
            // The credit keeps what it had lent back (safe: it only draws less); the next renewal sends the cumulative
            // spend again, and a credit never renewed expires in the grain.
            lock (_lock)
            {
                _nextAsk = time.GetTimestamp() + _refusedTicks;
            }

            if (release && renewal.SpentUsd > renewal.AckedSpentUsd)
            {
                // The released credit's last spend would be lost if the call never landed; counted twice if it did
                // land. Twice is the side that keeps the budget: the spend goes one-way, as a settle would.
                BudgetGate.SendSettle(Grain, 0, renewal.SpentUsd - renewal.AckedSpentUsd, logger);
            }

            logger.LogWarning("Could not renew a budget credit ({Error}); requests reserve per request meanwhile", ex.GetType().Name);
        }
        finally
        {
            lock (_lock)
            {
                _renewing = false;
            }
        }
    }

    private static long NewId() => Random.Shared.NextInt64(1, long.MaxValue);

    private static long Ticks(TimeSpan span, TimeProvider time) => (long)(span.TotalSeconds * time.TimestampFrequency);
}
