using System.Collections.Concurrent;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Proxy;

/// <summary>
/// One frontend's line to one rotation grain. Two things keep the grain off most requests' path when traffic is
/// heavy: usage reports of successful requests are deferred and ride along with the next call, and a channel that
/// served several requests in the last half credit lifetime keeps a few <see cref="KeyCredit"/>s topped up in the
/// background, which its requests spend without a call. A credit is spent only before it expires and only by a
/// request that fits its token reservation; the rest are handed back as <see cref="UpstreamOutcome.Unused"/>.
/// </summary>
/// <remarks>
/// A call that misses <see cref="CallDeadline"/> is abandoned, not cancelled: the grain may still answer. A lease or
/// credits it grants then are handed back as <see cref="UpstreamOutcome.Unused"/>, and the reports it carried are
/// queued again, which is safe because the grain applies a report for a lease once.
/// </remarks>
public sealed class RotationChannel(IRotationGrain grain, TimeProvider time, ILogger? logger = null)
{
    /// <summary>
    /// A grain call on the request path gives up after this (Orleans' own response timeout is 30 s): a silo that died
    /// or hangs costs a request one deadline, then <see cref="FailoverLoop"/> retries on the next activation.
    /// </summary>
    public static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(2);

    // Spend a credit a little before the grain's deadline: the grain stamped it no earlier than the top-up was sent.
    private static readonly TimeSpan SpendMargin = TimeSpan.FromMilliseconds(10);
    private readonly long _creditTicks = (long)((KeyCredit.Lifetime - SpendMargin).TotalSeconds * time.TimestampFrequency);
    private readonly long _ratePeriod = (long)(KeyCredit.Lifetime.TotalSeconds / 2 * time.TimestampFrequency);

    private readonly ConcurrentQueue<UsageReport> _pending = new();
    private readonly ConcurrentQueue<HeldCredit> _credits = new();
    private long _oldestPendingAt;
    private int _held;
    private int _toppingUp;

    // Requests seen in the current and in the previous rate period: the demand a top-up serves.
    private long _periodStart;
    private int _periodCount;
    private int _previousCount;

    public IRotationGrain Grain { get; } = grain;

    /// <summary>Credits this channel holds right now.</summary>
    public int HeldCredits => Volatile.Read(ref _held);

    public ValueTask<KeyLease> AcquireAsync(long estimatedTokens, IReadOnlyList<string>? excluded)
    {
        var now = time.GetTimestamp();
        var demand = CountRequest(now);
        if (excluded is null)
        {
            var spent = TrySpendCredit(estimatedTokens, now);
            MaybeTopUp(demand, estimatedTokens, now);
            if (spent is not null)
            {
                return ValueTask.FromResult(spent);
            }
        }

        return CallAsync(estimatedTokens, excluded);
    }

    /// <summary>A success only corrects token counts: it can wait for the next call (or the flush timer).</summary>
    public void Defer(UsageReport report, long timestamp)
    {
        Interlocked.CompareExchange(ref _oldestPendingAt, timestamp, 0);
        _pending.Enqueue(report);
    }

    /// <summary>
    /// Failures change which keys may be used: they go at once, and the credits held here are handed back, since
    /// they may be on the key that just failed. A report the grain does not take within <see cref="CallDeadline"/>
    /// (a silo dead or hung) is logged and queued with the deferred ones, for the next call: it never fails the
    /// request, whose retry excludes the failed key anyway.
    /// </summary>
    public async ValueTask ReportNowAsync(UsageReport report)
    {
        var now = time.GetTimestamp();
        if (report.Outcome is not (UpstreamOutcome.Cancelled or UpstreamOutcome.CallerError))
        {
            ReturnCredits(now, all: true);
        }

        try
        {
            await Grain.ReportAsync(report).AsTask().WaitAsync(CallDeadline, time);
        }
        catch (Exception ex)
        {
            logger?.LogWarning("Could not send a {Outcome} report for key {KeyId} ({Error}); it goes with the next call", report.Outcome, report.KeyId, ex.GetType().Name);
            Defer(report, now);
        }
    }

    /// <summary>
    /// Hands back expired credits (all of them when <paramref name="force"/>) and sends reports that waited longer
    /// than <paramref name="maxAgeTicks"/>; called by <see cref="RotationReportFlusher"/>.
    /// </summary>
    public async ValueTask FlushAsync(long now, long maxAgeTicks, bool force)
    {
        ReturnCredits(now, all: force);
        var oldest = Interlocked.Read(ref _oldestPendingAt);
        if (_pending.IsEmpty || (!force && oldest != 0 && now - oldest < maxAgeTicks))
        {
            return;
        }

        if (Drain() is { } reports)
        {
            try
            {
                await Grain.ReportManyAsync(reports).AsTask().WaitAsync(CallDeadline, time);
            }
            catch
            {
                Requeue(reports);
                throw;
            }
        }
    }

    private async ValueTask<KeyLease> CallAsync(long estimatedTokens, IReadOnlyList<string>? excluded)
    {
        var reports = Drain();
        var call = Grain.AcquireAsync(new AcquireRequest(estimatedTokens, excluded, reports)).AsTask();
        try
        {
            return await call.WaitAsync(CallDeadline, time);
        }
        catch
        {
            if (reports is not null)
            {
                // Whether the call landed or not, the next call carries them: the grain ignores one it applied.
                Requeue(reports);
            }

            // Abandoned, not cancelled: a lease the grain grants after all would be held for a minute unused.
            _ = call.ContinueWith(
                static (t, state) =>
                {
                    if (t.IsCompletedSuccessfully && t.Result is { Status: LeaseStatus.Granted, Key: { } key } lease)
                    {
                        var channel = (RotationChannel)state!;
                        channel.HandBack(key.Id, lease.LeaseId);
                    }
                },
                this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    private int CountRequest(long now)
    {
        var start = Volatile.Read(ref _periodStart);
        if (now - start >= _ratePeriod && Interlocked.CompareExchange(ref _periodStart, now, start) == start)
        {
            // A gap longer than a period means the channel was quiet: nothing carries over.
            var count = Interlocked.Exchange(ref _periodCount, 0);
            Volatile.Write(ref _previousCount, now - start < 2 * _ratePeriod ? count : 0);
        }

        Interlocked.Increment(ref _periodCount);
        return Volatile.Read(ref _previousCount);
    }

    /// <summary>
    /// Keeps about one rate period's worth of credits on hand: when fewer than half of that are left, one top-up
    /// (never two at once) runs in the background, off the request's path.
    /// </summary>
    private void MaybeTopUp(int demand, long estimatedTokens, long now)
    {
        var target = Math.Min(demand, KeyCredit.MaxPerTopUp);
        var held = Volatile.Read(ref _held);
        if (target < 2 || held * 2 > target || Interlocked.CompareExchange(ref _toppingUp, 1, 0) != 0)
        {
            return;
        }

        _ = TopUpAsync(target - held, CreditTokens(estimatedTokens), now);
    }

    private async Task TopUpAsync(int count, long tokens, long sentAt)
    {
        var reports = Drain();
        var call = Grain.TopUpAsync(new CreditRequest(count, tokens, reports)).AsTask();
        try
        {
            var credits = await call.WaitAsync(CallDeadline, time);
            var expiresAt = sentAt + _creditTicks;
            foreach (var credit in credits)
            {
                _credits.Enqueue(new HeldCredit(new KeyLease(LeaseStatus.Granted, credit.Key, credit.LeaseId, credit.ReservedTokens, TimeSpan.Zero), expiresAt));
                Interlocked.Increment(ref _held);
            }
        }
        catch
        {
            // Nothing waits on a top-up: requests simply call the grain themselves until the next one works.
            if (reports is not null)
            {
                Requeue(reports);
            }

            // Credits granted after the deadline would stay reserved unused: hand them back.
            _ = call.ContinueWith(
                static (t, state) =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        var channel = (RotationChannel)state!;
                        foreach (var credit in t.Result)
                        {
                            channel.HandBack(credit.Key.Id, credit.LeaseId);
                        }
                    }
                },
                this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        finally
        {
            Volatile.Write(ref _toppingUp, 0);
        }
    }

    // Room for a slightly longer prompt than the one that asked, so similar requests can spend the credits.
    private static long CreditTokens(long estimatedTokens) => Math.Max(1, estimatedTokens + estimatedTokens / 4);

    private KeyLease? TrySpendCredit(long estimatedTokens, long now)
    {
        while (_credits.TryPeek(out var head))
        {
            // A larger request leaves the credits for the ones they were sized for.
            if (head.ExpiresAt > now && head.Lease.ReservedTokens < estimatedTokens)
            {
                return null;
            }

            if (!_credits.TryDequeue(out var credit))
            {
                return null;
            }

            Interlocked.Decrement(ref _held);
            if (credit.ExpiresAt > now && credit.Lease.ReservedTokens >= estimatedTokens)
            {
                return credit.Lease;
            }

            Defer(Unused(credit), now);
        }

        return null;
    }

    private void ReturnCredits(long now, bool all)
    {
        // Credits are queued in the order they expire: the expired ones are at the front.
        while (_credits.TryPeek(out var head) && (all || head.ExpiresAt <= now) && _credits.TryDequeue(out var credit))
        {
            Interlocked.Decrement(ref _held);
            Defer(Unused(credit), now);
        }
    }

    /// <summary>A reservation nobody will use, granted by a call given up on: released with the next call.</summary>
    private void HandBack(string keyId, long leaseId) =>
        Defer(new UsageReport(keyId, leaseId, 0, UpstreamOutcome.Unused, null, null, null, null), time.GetTimestamp());

    private static UsageReport Unused(HeldCredit credit) =>
        new(credit.Lease.Key!.Id, credit.Lease.LeaseId, 0, UpstreamOutcome.Unused, null, null, null, null);

    private void Requeue(UsageReport[] reports)
    {
        foreach (var report in reports)
        {
            _pending.Enqueue(report);
        }

        Interlocked.CompareExchange(ref _oldestPendingAt, 1, 0);
    }

    private UsageReport[]? Drain()
    {
        if (_pending.IsEmpty)
        {
            return null;
        }

        Interlocked.Exchange(ref _oldestPendingAt, 0);
        var reports = new List<UsageReport>();
        while (_pending.TryDequeue(out var report))
        {
            reports.Add(report);
        }

        return reports.Count == 0 ? null : reports.ToArray();
    }

    private readonly record struct HeldCredit(KeyLease Lease, long ExpiresAt);
}
