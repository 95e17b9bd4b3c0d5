namespace Roxy.Grains.Rotation;

/// <summary>
/// The key-selection logic of one (tenant, provider), free of Orleans so it can be tested with a fake clock.
/// Among enabled keys that are not cooling down and have headroom in both sliding 60 s windows, it picks the
/// least utilized; ties go round-robin. Each grant reserves one request and the estimated tokens at once,
/// which is what keeps concurrent requests from pushing a key over its limits.
/// </summary>
public sealed class KeyPool(TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DefaultOverloadBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxOverloadBackoff = TimeSpan.FromSeconds(30);

    private KeyRuntime[] _keys = [];
    private int _cursor;
    private long _nextLease = time.GetUtcNow().UtcTicks;
    private DateTimeOffset _providerBackoffUntil;

    public int Count => _keys.Length;

    /// <summary>Replaces the key set, keeping the windows of keys that stay.</summary>
    public void SetKeys(IReadOnlyList<ProviderKey> keys)
    {
        var old = _keys.ToDictionary(k => k.Key.Id, StringComparer.Ordinal);
        var next = new KeyRuntime[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            if (old.TryGetValue(keys[i].Id, out var runtime))
            {
                runtime.Key = keys[i];
                // An admin enabling a key clears the provider's refusal too.
                if (keys[i].Enabled && keys[i].DisabledReason is null)
                {
                    runtime.DisabledReason = null;
                }
            }
            else
            {
                runtime = new KeyRuntime(keys[i], Window);
            }

            next[i] = runtime;
        }

        _keys = next;
    }

    public KeyLease Acquire(int estimatedTokens, IReadOnlyList<string>? exclude)
    {
        var now = time.GetUtcNow();
        if (_providerBackoffUntil > now && _keys.Length > 0)
        {
            return new KeyLease(LeaseStatus.ProviderBackoff, null, 0, 0, _providerBackoffUntil - now);
        }

        var n = _keys.Length;
        KeyRuntime? best = null;
        var bestIndex = -1;
        var bestUtilization = double.MaxValue;
        var soonest = TimeSpan.MaxValue;
        var usable = 0;
        var largestTpm = 0;
        var excludedSoonest = TimeSpan.MaxValue;

        for (var i = 0; i < n; i++)
        {
            var index = (_cursor + i) % n;
            var k = _keys[index];
            if (!k.InRotation)
            {
                continue;
            }

            if (exclude is not null && Contains(exclude, k.Key.Id))
            {
                // Already tried for this request; still tells when the provider's keys free up again.
                if (k.CoolingUntil > now)
                {
                    excludedSoonest = Min(excludedSoonest, k.CoolingUntil - now);
                }

                continue;
            }

            usable++;
            largestTpm = Math.Max(largestTpm, k.Key.MaxTpm);
            if (estimatedTokens > k.Key.MaxTpm)
            {
                continue;
            }

            var wait = TimeSpan.Zero;
            if (k.CoolingUntil > now)
            {
                wait = k.CoolingUntil - now;
            }

            var requests = k.Requests.Used(now);
            var tokens = k.Tokens.Used(now);
            if (requests + 1 > k.Key.MaxRpm)
            {
                wait = Max(wait, k.Requests.TimeUntilRoom(now, k.Key.MaxRpm, 1));
            }

            if (tokens + estimatedTokens > k.Key.MaxTpm)
            {
                wait = Max(wait, k.Tokens.TimeUntilRoom(now, k.Key.MaxTpm, estimatedTokens));
            }

            if (k.HintUntil > now && (k.HintRequests <= 0 || (k.HintTokens is { } ht && ht < estimatedTokens)))
            {
                wait = Max(wait, k.HintUntil - now);
            }

            if (wait > TimeSpan.Zero)
            {
                soonest = wait < soonest ? wait : soonest;
                continue;
            }

            var utilization = Math.Max((double)requests / k.Key.MaxRpm, (double)tokens / k.Key.MaxTpm);
            if (utilization < bestUtilization)
            {
                best = k;
                bestIndex = index;
                bestUtilization = utilization;
            }
        }

        if (usable == 0)
        {
            // Every key left was tried and some are cooling: say when the first frees, so the caller can wait.
            return excludedSoonest == TimeSpan.MaxValue
                ? KeyLease.NoKeys
                : new KeyLease(LeaseStatus.Exhausted, null, 0, 0, excludedSoonest);
        }

        if (best is null)
        {
            return estimatedTokens > largestTpm
                ? new KeyLease(LeaseStatus.TooLarge, null, 0, 0, TimeSpan.Zero)
                : new KeyLease(LeaseStatus.Exhausted, null, 0, 0, soonest == TimeSpan.MaxValue ? Window : soonest);
        }

        var lease = ++_nextLease;
        best.Requests.Add(now, lease, 1);
        best.Tokens.Add(now, lease, estimatedTokens);
        if (best.HintUntil > now)
        {
            best.HintRequests--;
            best.HintTokens -= estimatedTokens;
        }

        _cursor = (bestIndex + 1) % n;
        return new KeyLease(LeaseStatus.Granted, best.Key, lease, estimatedTokens, TimeSpan.Zero);
    }

    /// <summary>
    /// Up to <paramref name="credits"/> <see cref="KeyCredit"/>s of <paramref name="tokens"/> each. Credits come only
    /// from keys with plenty of room, so holding them never starves another frontend: a key stays at most half used
    /// in both windows, gives at most what it could serve at full rate within a credit's lifetime, gets none while
    /// it cools down, and keeps room for a lease within the provider's remaining-* hints. Each is picked like a
    /// lease (least utilized, ties round-robin) and counted at the end of its lifetime, the latest moment it may be
    /// spent.
    /// </summary>
    public IReadOnlyList<KeyCredit> GrantCredits(int credits, int tokens)
    {
        var n = _keys.Length;
        var now = time.GetUtcNow();
        if (credits <= 0 || tokens <= 0 || n == 0 || _providerBackoffUntil > now)
        {
            return [];
        }

        var countsAt = now + KeyCredit.Lifetime;
        Span<int> given = n <= 64 ? stackalloc int[n] : new int[n];
        List<KeyCredit>? granted = null;
        for (var c = 0; c < Math.Min(credits, KeyCredit.MaxPerTopUp); c++)
        {
            var index = PickForCredit(now, tokens, given);
            if (index < 0)
            {
                break;
            }

            var k = _keys[index];
            var id = ++_nextLease;
            k.Requests.AddAt(now, countsAt, id, 1);
            k.Tokens.AddAt(now, countsAt, id, tokens);
            if (k.HintUntil > now)
            {
                k.HintRequests--;
                k.HintTokens -= tokens;
            }

            given[index]++;
            _cursor = (index + 1) % n;
            (granted ??= new List<KeyCredit>(credits)).Add(new KeyCredit(k.Key, id, tokens));
        }

        return granted is null ? [] : granted;
    }

    private int PickForCredit(DateTimeOffset now, int tokens, ReadOnlySpan<int> given)
    {
        var n = _keys.Length;
        var best = -1;
        var bestUtilization = double.MaxValue;
        for (var i = 0; i < n; i++)
        {
            var index = (_cursor + i) % n;
            var k = _keys[index];
            if (!k.InRotation || k.CoolingUntil > now)
            {
                continue;
            }

            // The provider's own remaining counts (sent with nearly every answer) must leave room for a lease too.
            if (k.HintUntil > now && (k.HintRequests <= 1 || k.HintTokens < 2L * tokens))
            {
                continue;
            }

            // What the key serves at full rate within one credit lifetime: a small key never gets credits.
            var capacity = (int)(k.Key.MaxRpm * KeyCredit.Lifetime.TotalSeconds / Window.TotalSeconds);
            if (given[index] >= capacity)
            {
                continue;
            }

            var requests = k.Requests.Used(now) + 1;
            var used = k.Tokens.Used(now) + tokens;
            if (requests * 2 > k.Key.MaxRpm || used * 2 > k.Key.MaxTpm)
            {
                continue;
            }

            var utilization = Math.Max((double)requests / k.Key.MaxRpm, (double)used / k.Key.MaxTpm);
            if (utilization < bestUtilization)
            {
                best = index;
                bestUtilization = utilization;
            }
        }

        return best;
    }

    /// <summary>Applies what the upstream said; returns a key the provider refused, for the caller to persist.</summary>
    internal KeyDisabled? Report(UsageReport report)
    {
        var k = Find(report.KeyId);
        if (k is null)
        {
            return null;
        }

        var now = time.GetUtcNow();
        if (report.Outcome == UpstreamOutcome.Unused)
        {
            // A credit nobody spent: as if it had never been granted.
            k.Requests.Adjust(report.LeaseId, 0);
            k.Tokens.Adjust(report.LeaseId, 0);
            return null;
        }

        if (report.Outcome is UpstreamOutcome.RateLimited or UpstreamOutcome.QuotaExhausted or UpstreamOutcome.AuthFailed or UpstreamOutcome.ProviderOverloaded)
        {
            // Refused outright: the provider counted no tokens.
            k.Tokens.Adjust(report.LeaseId, 0);
        }
        else if (report.UsageKnown)
        {
            // Only a known count replaces the reservation; without one the estimate stands (it errs high).
            k.Tokens.Adjust(report.LeaseId, report.ActualTokens);
        }

        if (report.RemainingRequests is not null || report.RemainingTokens is not null)
        {
            k.HintRequests = report.RemainingRequests;
            k.HintTokens = report.RemainingTokens;
            k.HintUntil = now + (report.ResetAfter is { } reset && reset > TimeSpan.Zero ? reset : Window);
        }

        switch (report.Outcome)
        {
            case UpstreamOutcome.RateLimited:
                var cooldown = TimeSpan.FromSeconds(k.Key.CooldownSec);
                cooldown = Max(cooldown, report.RetryAfter ?? TimeSpan.Zero);
                cooldown = Max(cooldown, report.ResetAfter ?? TimeSpan.Zero);
                k.CoolingUntil = now + cooldown;
                return null;
            case UpstreamOutcome.AuthFailed:
                k.DisabledReason = "auth";
                return new KeyDisabled(k.Key.Id, "auth");
            case UpstreamOutcome.QuotaExhausted:
                k.DisabledReason = "quota";
                return new KeyDisabled(k.Key.Id, "quota");
            case UpstreamOutcome.ProviderOverloaded:
                var backoff = report.RetryAfter is { } ra && ra > TimeSpan.Zero ? ra : DefaultOverloadBackoff;
                _providerBackoffUntil = now + (backoff > MaxOverloadBackoff ? MaxOverloadBackoff : backoff);
                return null;
            default:
                return null;
        }
    }

    public IReadOnlyList<KeyUsage> Usage()
    {
        var now = time.GetUtcNow();
        return _keys.Select(k => new KeyUsage(
            k.Key.Id,
            k.Requests.Used(now),
            k.Tokens.Used(now),
            k.CoolingUntil > now ? k.CoolingUntil : null,
            k.DisabledReason ?? k.Key.DisabledReason)).ToArray();
    }

    public Dictionary<string, KeyWindowSnapshot> Snapshot()
    {
        var now = time.GetUtcNow();
        return _keys.ToDictionary(
            k => k.Key.Id,
            k => new KeyWindowSnapshot
            {
                Requests = k.Requests.Snapshot(now),
                Tokens = k.Tokens.Snapshot(now),
                CoolingUntilTicks = k.CoolingUntil.UtcTicks,
            },
            StringComparer.Ordinal);
    }

    public void Restore(IReadOnlyDictionary<string, KeyWindowSnapshot> windows)
    {
        var now = time.GetUtcNow();
        foreach (var k in _keys)
        {
            if (windows.TryGetValue(k.Key.Id, out var w))
            {
                k.Requests.Restore(now, w.Requests);
                k.Tokens.Restore(now, w.Tokens);
                k.CoolingUntil = new DateTimeOffset(w.CoolingUntilTicks, TimeSpan.Zero);
            }
        }
    }

    private KeyRuntime? Find(string keyId)
    {
        foreach (var k in _keys)
        {
            if (k.Key.Id == keyId)
            {
                return k;
            }
        }

        return null;
    }

    private static bool Contains(IReadOnlyList<string> ids, string id)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            if (ids[i] == id)
            {
                return true;
            }
        }

        return false;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
