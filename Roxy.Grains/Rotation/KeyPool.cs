using Roxy.Grains.Tracing;

namespace Roxy.Grains.Rotation;

/// <summary>
/// The key-selection logic of one (tenant, provider), free of Orleans so it can be tested with a fake clock.
/// Among enabled keys that are not cooling down and have headroom in both sliding 60 s windows, it picks the
/// least utilized; ties go round-robin. Each grant reserves one request and the estimated tokens at once,
/// which is what keeps concurrent requests from pushing a key over its limits.
/// <para>
/// Windows run on the monotonic clock (<see cref="TimeProvider.GetTimestamp"/>), anchored to the wall clock once:
/// a wall-clock step (NTP, a VM resumed) neither expires entries early nor freezes them. Only snapshots are
/// converted to the wall clock, since another silo reads them.
/// </para>
/// <para>
/// A crash loses what was granted since the last snapshot that reached storage. So that a restore can charge for
/// it, each snapshot records each key's unsaved share, and a key grants at most the share recorded in the last
/// stored snapshot between confirmed snapshots; past that a request waits (a few ms) for the next write. A pool
/// grants nothing before its first snapshot is stored (the grain writes one on activation). A restore from a
/// snapshot that was not the final one charges the recorded share again, and the share its limits give to a key
/// the snapshot does not hold (added since), so no key exceeds its limits across a crash, at the cost of that
/// share of a minute's capacity for the minute after one.
/// </para>
/// <para>
/// The share per key: requests max(10 % of max_rpm, min(max_rpm, 5)); tokens max(10 % of max_tpm,
/// min(max_tpm, 5 × the largest estimate asked for in the last minute or two)), so a burst of a few large
/// requests on a small key does not wait on a write per request. Worst case after a crash: a key's windows are
/// charged that share, e.g. a 30k TPM key serving 4k-token requests loses up to 20k of its tokens for the minute
/// after the crash. A request larger than the token share may go alone when nothing is unsaved, so the token
/// limit can be exceeded once by that request's estimate beyond the share.
/// </para>
/// </summary>
public sealed class KeyPool(TimeProvider time)
{
    /// <summary>How much of a key's per-minute limits may be granted between two confirmed snapshots.</summary>
    public const double UnsavedShare = 0.1;

    /// <summary>The unsaved share is never below this many requests (or the whole limit, when smaller).</summary>
    public const long MinUnsaved = 5;

    /// <summary>How long a request waits when its key's unsaved share is used up and a snapshot is being written.</summary>
    public static readonly TimeSpan SnapshotWait = TimeSpan.FromMilliseconds(20);

    /// <summary>A write slower than this no longer holds grants back: serving beats the crash bound (storage is in trouble).</summary>
    public static readonly TimeSpan SlowWrite = TimeSpan.FromSeconds(1);

    /// <summary>The slack between Roxy's grant and the provider's count of the same request.</summary>
    public static readonly TimeSpan ArrivalMargin = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a grant holds its place in a key's per-minute window: a minute and <see cref="ArrivalMargin"/>. A provider
    /// counts a request when it arrives, a few milliseconds after Roxy granted it; had a slot freed exactly 60 s after
    /// its grant, the provider's own minute could see one request more than the limit (the fault drill saw 31 of 30,
    /// all within 59.98–60.00 s). Declared after ArrivalMargin, which it reads during static initialization.
    /// </summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(60) + ArrivalMargin;

    private static readonly TimeSpan DefaultOverloadBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxOverloadBackoff = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long after its oldest entry slid out a key's place in the index is refreshed, at the latest: a busy key is
    /// then refreshed once per this much traffic instead of on every lease. Until then the index sees the key up to
    /// this much traffic busier than it is, which only changes which of two nearly equal keys goes first; limits are
    /// always checked on exact numbers.
    /// </summary>
    public static readonly TimeSpan DefaultReorderSlack = TimeSpan.FromMilliseconds(50);

    /// <summary>Keys a lease looks at in index order before it scans them all (they are full or waiting on a snapshot).</summary>
    private const int MaxProbes = 8;

    /// <summary>See <see cref="DefaultReorderSlack"/>; zero keeps the index exact (tests compare it with a scan).</summary>
    internal TimeSpan ReorderSlack { get; init; } = DefaultReorderSlack;

    /// <summary>Every lease and credit scans all keys instead of asking the index: the reference the index is tested against.</summary>
    internal bool ScanOnly { get; init; }

    private KeyRuntime[] _keys = [];
    private Dictionary<string, KeyRuntime> _byId = new(StringComparer.Ordinal);

    // The index: keys that may serve now, least utilized first, and every key by when it next changes by itself.
    private readonly ReadyKeys _ready = new();
    private readonly KeyChanges _changes = new();
    private readonly KeyRuntime[] _probed = new KeyRuntime[MaxProbes];
    private readonly List<KeyRuntime> _asideForCredits = [];
    private readonly List<KeyRuntime> _creditedKeys = [];
    private long _grants;

    // The smallest max_tpm of a key in rotation: a larger request passes some key over, which a trace must list.
    private long _smallestTpm = long.MaxValue;
    private bool _smallestTpmStale;

    // The disabled and cooling keys as skips (see Standing): stale when a key changes, until the first cooldown ends.
    private KeySkip[]? _standing;
    private bool _standingStale = true;
    private DateTimeOffset _standingUntil = DateTimeOffset.MaxValue;
    private readonly DateTimeOffset _anchorUtc = time.GetUtcNow();
    private readonly long _anchorTimestamp = time.GetTimestamp();
    private long _nextLease = time.GetUtcNow().UtcTicks;
    private DateTimeOffset _providerBackoffUntil;

    // Changes since the snapshot being written or last written; the grain writes only when there are some.
    private long _changeCount;
    private long _capturedChanges;
    private long _savedChanges;
    private bool _writing;
    private DateTimeOffset _writeStarted;
    private bool _storageHealthy = true;
    private bool _everStored;

    // The largest token estimate asked for in the current and the previous minute: sizes the token share.
    private DateTimeOffset _estimatesSince;
    private long _largestEstimate;
    private long _previousLargestEstimate;

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
        _byId = new Dictionary<string, KeyRuntime>(next.Length, StringComparer.Ordinal);
        foreach (var k in next)
        {
            _byId.TryAdd(k.Key.Id, k);
        }

        _standingStale = true;
        _changeCount++;
        RebuildIndex(Now());
    }

    public KeyLease Acquire(long estimatedTokens, IReadOnlyList<string>? exclude)
    {
        if (estimatedTokens <= 0)
        {
            // Only a frontend bug (an overflowed estimate) sends this; granting it would let the request go uncounted.
            return new KeyLease(LeaseStatus.InvalidEstimate, null, 0, 0, TimeSpan.Zero);
        }

        var now = Now();
        NoteEstimate(estimatedTokens, now);
        if (_providerBackoffUntil > now && _keys.Length > 0)
        {
            return new KeyLease(LeaseStatus.ProviderBackoff, null, 0, 0, _providerBackoffUntil - now);
        }

        RefreshDue(now);

        // Keys passed over, for the request's trace. Disabled and cooling keys come from one cached list; a key passed
        // over for this request alone (already tried, too small) or one merely full makes the list be built afresh,
        // but only off the common grant path: on a retry, for a large request, or when no key can serve.
        var standing = Standing(now);

        // The common case, a first attempt that fits every key: the least utilized ready key that has room, from the
        // index. A retry, a request some key is too small for, or a pool whose first keys are all full is scanned.
        if (!ScanOnly && exclude is null && estimatedTokens <= SmallestTpm() && FromIndex(estimatedTokens, now) is { } found)
        {
            return Grant(found, estimatedTokens, now, standing);
        }

        return Scan(estimatedTokens, exclude, now, standing);
    }

    /// <summary>
    /// The first of the least utilized ready keys with room now, looking at <see cref="MaxProbes"/> at most; null when
    /// none of those has (the caller then scans every key).
    /// </summary>
    private KeyRuntime? FromIndex(long estimatedTokens, DateTimeOffset now)
    {
        var probed = 0;
        KeyRuntime? found = null;
        while (probed < MaxProbes && _ready.Count > 0)
        {
            var k = _ready.Pop();
            if (WaitFor(k, estimatedTokens, k.Requests.Used(now), k.Tokens.Used(now), now, out _) == TimeSpan.Zero)
            {
                found = k;
                break;
            }

            _probed[probed++] = k;
        }

        for (var i = 0; i < probed; i++)
        {
            Refresh(_probed[i], now);
            _probed[i] = null!;
        }

        return found;
    }

    /// <summary>
    /// Every key looked at, for what the index does not answer: a retry (keys already tried), a request some key is too
    /// small for (the trace lists it), or no ready key with room among the first (full keys, or keys waiting on a
    /// snapshot). Finds the same key the index would, and says why there is none.
    /// </summary>
    private KeyLease Scan(long estimatedTokens, IReadOnlyList<string>? exclude, DateTimeOffset now, KeySkip[]? standing)
    {
        KeyRuntime? best = null;
        var bestUtilization = double.MaxValue;
        var soonest = TimeSpan.MaxValue;
        var usable = 0;
        var largestTpm = 0L;
        var excludedSoonest = TimeSpan.MaxValue;
        var passedOver = false;
        var anyFull = false;

        foreach (var k in _keys)
        {
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

                passedOver = true;
                continue;
            }

            usable++;
            largestTpm = Math.Max(largestTpm, k.Key.MaxTpm);
            if (estimatedTokens > k.Key.MaxTpm)
            {
                passedOver = true;
                continue;
            }

            var requests = k.Requests.Used(now);
            var tokens = k.Tokens.Used(now);
            var wait = WaitFor(k, estimatedTokens, requests, tokens, now, out _);
            if (wait > TimeSpan.Zero)
            {
                soonest = wait < soonest ? wait : soonest;
                anyFull |= k.CoolingUntil <= now;
                continue;
            }

            // The index's order, on exact numbers (the index's may be a little high, see ReorderSlack).
            var utilization = Utilization(k, requests, tokens);
            if (best is null || First(k, utilization, best, bestUtilization))
            {
                best = k;
                bestUtilization = utilization;
            }
        }

        if (usable == 0)
        {
            IReadOnlyList<KeySkip>? skipped = passedOver ? Skips(estimatedTokens, exclude, now, full: false) : standing;
            // Every key left was tried and some are cooling: say when the first frees, so the caller can wait.
            return excludedSoonest != TimeSpan.MaxValue
                ? new KeyLease(LeaseStatus.Exhausted, null, 0, 0, excludedSoonest, skipped)
                : skipped is null ? KeyLease.NoKeys : new KeyLease(LeaseStatus.NoKeys, null, 0, 0, TimeSpan.Zero, skipped);
        }

        if (best is null)
        {
            IReadOnlyList<KeySkip>? skipped = passedOver || anyFull ? Skips(estimatedTokens, exclude, now, full: true) : standing;
            return estimatedTokens > largestTpm
                ? new KeyLease(LeaseStatus.TooLarge, null, 0, 0, TimeSpan.Zero, skipped)
                : new KeyLease(LeaseStatus.Exhausted, null, 0, 0, soonest == TimeSpan.MaxValue ? Window : soonest, skipped);
        }

        // A key merely full is not listed on a grant: another had room, and listing it would cost every grant under
        // load a list of all keys.
        return Grant(best, estimatedTokens, now, passedOver ? Skips(estimatedTokens, exclude, now, full: false) : standing);
    }

    private KeyLease Grant(KeyRuntime k, long estimatedTokens, DateTimeOffset now, IReadOnlyList<KeySkip>? skipped)
    {
        var lease = ++_nextLease;
        k.Requests.Add(now, lease, 1);
        k.Tokens.Add(now, lease, estimatedTokens);
        Granted(k, estimatedTokens, now);
        return new KeyLease(LeaseStatus.Granted, k.Key, lease, estimatedTokens, TimeSpan.Zero, skipped);
    }

    /// <summary>What every grant, lease or credit, does besides its window entries.</summary>
    private void Granted(KeyRuntime k, long tokens, DateTimeOffset now)
    {
        k.GrantedRequests++;
        k.GrantedTokens += tokens;
        k.LastGrant = ++_grants;
        _changeCount++;
        if (k.HintUntil > now)
        {
            k.HintRequests--;
            k.HintTokens -= tokens;
        }

        Refresh(k, now);
    }

    /// <summary>The index's order (<see cref="KeyRuntime.Before"/>) on utilizations computed now.</summary>
    private static bool First(KeyRuntime a, double aUtilization, KeyRuntime b, double bUtilization) =>
        aUtilization != bUtilization ? aUtilization < bUtilization
        : a.LastGrant != b.LastGrant ? a.LastGrant < b.LastGrant
        : a.Index < b.Index;

    /// <summary>In rotation, not cooling, and not out of the provider's remaining requests: the keys in the index.</summary>
    private static bool IsReady(KeyRuntime k, DateTimeOffset now) =>
        k.InRotation && k.CoolingUntil <= now && !(k.HintUntil > now && k.HintRequests <= 0);

    private static double Utilization(KeyRuntime k, long requests, long tokens) =>
        Math.Max((double)requests / k.Key.MaxRpm, (double)tokens / k.Key.MaxTpm);

    /// <summary>
    /// Brings one key's place in the index up to date: its utilization now, whether it may serve (in rotation, not
    /// cooling, not out of the provider's remaining requests), and when that next changes by itself: its oldest entry
    /// sliding out (plus <see cref="ReorderSlack"/>, so a busy key is not refreshed on every lease), its cooldown
    /// or the provider's hint ending. Called after anything that changes a key, and by <see cref="RefreshDue"/>.
    /// </summary>
    private void Refresh(KeyRuntime k, DateTimeOffset now)
    {
        var requests = k.Requests.Used(now);
        var tokens = k.Tokens.Used(now);
        k.Utilization = Utilization(k, requests, tokens);
        var next = long.MaxValue;
        if (k.InRotation)
        {
            var oldest = Math.Min(k.Requests.OldestTicks, k.Tokens.OldestTicks);
            if (oldest != long.MaxValue)
            {
                next = oldest + Window.Ticks + ReorderSlack.Ticks;
            }

            if (k.CoolingUntil > now)
            {
                next = Math.Min(next, k.CoolingUntil.UtcTicks);
            }

            if (k.HintUntil > now)
            {
                next = Math.Min(next, k.HintUntil.UtcTicks);
            }
        }

        if (IsReady(k, now))
        {
            _ready.Set(k);
        }
        else
        {
            _ready.Remove(k);
        }

        k.NextChangeTicks = next;
        if (next == long.MaxValue)
        {
            _changes.Remove(k);
        }
        else
        {
            _changes.Set(k);
        }
    }

    /// <summary>Refreshes every key whose order or readiness changed by itself since it was last refreshed.</summary>
    private void RefreshDue(DateTimeOffset now)
    {
        var ticks = now.UtcTicks;
        while (_changes.Count > 0 && _changes.Min.NextChangeTicks <= ticks)
        {
            Refresh(_changes.Min, now);
        }
    }

    /// <summary>After the key set or the windows were replaced: every key's place again.</summary>
    private void RebuildIndex(DateTimeOffset now)
    {
        _ready.Clear();
        _changes.Clear();
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i].Index = i;
            Refresh(_keys[i], now);
        }

        _smallestTpmStale = true;
    }

    private long SmallestTpm()
    {
        if (_smallestTpmStale)
        {
            _smallestTpm = long.MaxValue;
            foreach (var k in _keys)
            {
                if (k.InRotation)
                {
                    _smallestTpm = Math.Min(_smallestTpm, k.Key.MaxTpm);
                }
            }

            _smallestTpmStale = false;
        }

        return _smallestTpm;
    }

    /// <summary>
    /// How long <paramref name="k"/> makes a request of <paramref name="estimatedTokens"/> wait (zero: it has room
    /// now), and what is full: "max_rpm", "max_tpm", "provider remaining" or "unsaved share" (null while cooling).
    /// </summary>
    private TimeSpan WaitFor(KeyRuntime k, long estimatedTokens, long requests, long tokens, DateTimeOffset now, out string? full)
    {
        var wait = TimeSpan.Zero;
        full = null;
        if (k.CoolingUntil > now)
        {
            wait = k.CoolingUntil - now;
        }

        if (requests + 1 > k.Key.MaxRpm)
        {
            wait = Longer(wait, k.Requests.TimeUntilRoom(now, k.Key.MaxRpm, 1), ref full, "max_rpm");
        }

        if (tokens + estimatedTokens > k.Key.MaxTpm)
        {
            wait = Longer(wait, k.Tokens.TimeUntilRoom(now, k.Key.MaxTpm, estimatedTokens), ref full, "max_tpm");
        }

        if (k.HintUntil > now && (k.HintRequests <= 0 || (k.HintTokens is { } ht && ht < estimatedTokens)))
        {
            wait = Longer(wait, k.HintUntil - now, ref full, "provider remaining");
        }

        if (wait == TimeSpan.Zero && !WithinUnsavedShare(k, estimatedTokens, now))
        {
            SnapshotWanted = true;
            wait = SnapshotWait;
            full = "unsaved share";
        }

        return wait;
    }

    /// <summary>
    /// The disabled and cooling keys as skips, in key order: one immutable array shared by every lease (null when
    /// there are none) until a key changes or a cooldown ends. Also leaves each key's own skip in
    /// <see cref="KeyRuntime.Standing"/> for <see cref="Skips"/>.
    /// </summary>
    private KeySkip[]? Standing(DateTimeOffset now)
    {
        if (!_standingStale && now < _standingUntil)
        {
            return _standing;
        }

        var count = 0;
        var until = DateTimeOffset.MaxValue;
        foreach (var k in _keys)
        {
            if (!k.InRotation)
            {
                k.Standing = new KeySkip(k.Key.Id, KeySkipReason.Disabled, null, DisabledDetail(k));
            }
            else if (k.CoolingUntil > now)
            {
                k.Standing = new KeySkip(k.Key.Id, KeySkipReason.Cooling, ToUtc(k.CoolingUntil, now), null);
                until = k.CoolingUntil < until ? k.CoolingUntil : until;
            }
            else
            {
                k.Standing = null;
                continue;
            }

            count++;
        }

        KeySkip[]? standing = null;
        if (count > 0)
        {
            standing = new KeySkip[count];
            count = 0;
            foreach (var k in _keys)
            {
                if (k.Standing is { } skip)
                {
                    standing[count++] = skip;
                }
            }
        }

        _standing = standing;
        _standingUntil = until;
        _standingStale = false;
        return standing;
    }

    /// <summary>
    /// Every key passed over for this request, in key order, each under the first reason <see cref="Acquire"/> finds:
    /// disabled, already tried, too small, cooling, and (<paramref name="full"/>, when no key could serve) no room now.
    /// Null when none. Needs <see cref="Standing"/> run at <paramref name="now"/> first.
    /// </summary>
    private List<KeySkip>? Skips(long estimatedTokens, IReadOnlyList<string>? exclude, DateTimeOffset now, bool full)
    {
        List<KeySkip>? skipped = null;
        foreach (var k in _keys)
        {
            KeySkip? skip;
            if (!k.InRotation)
            {
                skip = k.Standing;
            }
            else if (exclude is not null && Contains(exclude, k.Key.Id))
            {
                skip = new KeySkip(k.Key.Id, KeySkipReason.Excluded, k.CoolingUntil > now ? ToUtc(k.CoolingUntil, now) : null, null);
            }
            else if (estimatedTokens > k.Key.MaxTpm)
            {
                skip = new KeySkip(k.Key.Id, KeySkipReason.TooSmall, null, null, k.Key.MaxTpm);
            }
            else if (k.CoolingUntil > now)
            {
                skip = k.Standing;
            }
            else if (!full)
            {
                continue;
            }
            else
            {
                var wait = WaitFor(k, estimatedTokens, k.Requests.Used(now), k.Tokens.Used(now), now, out var cause);
                if (wait == TimeSpan.Zero)
                {
                    continue;
                }

                skip = new KeySkip(k.Key.Id, KeySkipReason.NoHeadroom, ToUtc(now + wait, now), cause);
            }

            if (skip is not null)
            {
                (skipped ??= []).Add(skip);
            }
        }

        return skipped;
    }

    /// <summary>
    /// Why a key is out of rotation, as <see cref="KeySkip.Detail"/>: "admin", or the provider's refusal ("auth" for a
    /// 401/403, "quota"), the value <see cref="ProviderKey.DisabledReason"/> and <see cref="KeyUsage.DisabledReason"/> hold.
    /// </summary>
    private static string DisabledDetail(KeyRuntime k) => k.DisabledReason ?? k.Key.DisabledReason ?? "admin";

    /// <summary>A moment on the pool's clock (anchored, monotonic) as the wall clock's UTC, which a trace shows.</summary>
    private DateTimeOffset ToUtc(DateTimeOffset poolTime, DateTimeOffset now) => (poolTime + (time.GetUtcNow() - now)).ToUniversalTime();

    /// <summary>The longer of two waits, noting what causes it.</summary>
    private static TimeSpan Longer(TimeSpan wait, TimeSpan candidate, ref string? cause, string candidateCause)
    {
        if (candidate > wait)
        {
            cause = candidateCause;
            return candidate;
        }

        return wait;
    }

    /// <summary>
    /// Up to <paramref name="credits"/> <see cref="KeyCredit"/>s of <paramref name="tokens"/> each. Credits come only
    /// from keys with plenty of room, so holding them never starves another frontend: a key stays at most half used
    /// in both windows, gives at most what it could serve at full rate within a credit's lifetime, gets none while
    /// it cools down, and keeps room for a lease within the provider's remaining-* hints. Each is picked like a
    /// lease (least utilized, ties round-robin) and counted at the end of its lifetime, the latest moment it may be
    /// spent.
    /// </summary>
    public IReadOnlyList<KeyCredit> GrantCredits(int credits, long tokens)
    {
        var now = Now();
        if (credits <= 0 || tokens <= 0 || _keys.Length == 0 || _providerBackoffUntil > now)
        {
            return [];
        }

        NoteEstimate(tokens, now);
        RefreshDue(now);
        credits = Math.Min(credits, KeyCredit.MaxPerTopUp);
        var countsAt = now + KeyCredit.Lifetime;
        List<KeyCredit>? granted = null;
        // Keys that cannot give one more credit wait aside until the top-up ends. Looking at a few more keys than
        // credits wanted bounds the work when many cannot (small or busy keys): fewer credits only mean more calls.
        var looks = credits + MaxProbes;
        while ((granted?.Count ?? 0) < credits && looks-- > 0 && NextForCredit(now) is { } k)
        {
            if (!CanCredit(k, tokens, now))
            {
                _ready.Remove(k);
                k.SetAside = true;
                _asideForCredits.Add(k);
                continue;
            }

            var id = ++_nextLease;
            k.Requests.AddAt(now, countsAt, id, 1);
            k.Tokens.AddAt(now, countsAt, id, tokens);
            k.CreditsGiven++;
            if (k.CreditsGiven == 1)
            {
                _creditedKeys.Add(k);
            }

            Granted(k, tokens, now);
            (granted ??= new List<KeyCredit>(credits)).Add(new KeyCredit(k.Key, id, tokens));
        }

        foreach (var k in _asideForCredits)
        {
            k.SetAside = false;
            Refresh(k, now);
        }

        foreach (var k in _creditedKeys)
        {
            k.CreditsGiven = 0;
        }

        _asideForCredits.Clear();
        _creditedKeys.Clear();
        return granted is null ? [] : granted;
    }

    /// <summary>The least utilized ready key not set aside in this top-up: the index's first, or (<see cref="ScanOnly"/>) a scan's.</summary>
    private KeyRuntime? NextForCredit(DateTimeOffset now)
    {
        if (!ScanOnly)
        {
            return _ready.Count > 0 ? _ready.Min : null;
        }

        KeyRuntime? best = null;
        var bestUtilization = double.MaxValue;
        foreach (var k in _keys)
        {
            if (k.SetAside || !IsReady(k, now))
            {
                continue;
            }

            var utilization = Utilization(k, k.Requests.Used(now), k.Tokens.Used(now));
            if (best is null || First(k, utilization, best, bestUtilization))
            {
                best = k;
                bestUtilization = utilization;
            }
        }

        return best;
    }

    /// <summary>Whether a ready key may give one more credit of <paramref name="tokens"/> in this top-up.</summary>
    private bool CanCredit(KeyRuntime k, long tokens, DateTimeOffset now)
    {
        // The provider's own remaining counts (sent with nearly every answer) must leave room for a lease too.
        if (k.HintUntil > now && (k.HintRequests <= 1 || k.HintTokens < 2L * tokens))
        {
            return false;
        }

        // What the key serves at full rate within one credit lifetime: a small key never gets credits.
        // The key's rate is per minute; the window's arrival margin only delays when a slot frees.
        var capacity = (long)(k.Key.MaxRpm * KeyCredit.Lifetime.TotalSeconds / 60);
        if (k.CreditsGiven >= capacity || !WithinUnsavedShare(k, tokens, now))
        {
            return false;
        }

        var requests = k.Requests.Used(now) + 1;
        var used = k.Tokens.Used(now) + tokens;
        return requests * 2 <= k.Key.MaxRpm && used * 2 <= k.Key.MaxTpm;
    }

    /// <summary>
    /// Applies what the upstream said; returns a key the provider refused, for the caller to persist. Every number
    /// in a report is untrusted (the upstream's headers and usage, or a frontend of another version), so each is
    /// clamped to a sane range before it touches a window or a clock.
    /// </summary>
    internal KeyDisabled? Report(UsageReport report)
    {
        var k = Find(report.KeyId);
        if (k is null)
        {
            return null;
        }

        var disabled = Apply(k, report);
        // Its numbers, cooldown, hints or standing may have changed: so may its place in the index.
        Refresh(k, Now());
        _smallestTpmStale |= disabled is not null;
        return disabled;
    }

    private KeyDisabled? Apply(KeyRuntime k, UsageReport report)
    {
        if (!k.Requests.TryMarkReported(report.LeaseId))
        {
            // Sent again by a frontend whose call timed out after it landed: applying it twice would extend a
            // cooldown or a backoff.
            return null;
        }

        var now = Now();
        _changeCount++;
        // A cooldown or a refusal changes the keys' standing skips.
        _standingStale |= report.Outcome is UpstreamOutcome.RateLimited or UpstreamOutcome.AuthFailed or UpstreamOutcome.QuotaExhausted;
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
            k.Tokens.Adjust(report.LeaseId, ReportedTokens(report.ActualTokens, k.Key.MaxTpm));
        }

        // Frontends cap hints at an hour already; a frontend of another version might not, and now + hint must not throw.
        var resetAfter = RateLimitCooldown.Hint(report.ResetAfter);
        var retryAfter = RateLimitCooldown.Hint(report.RetryAfter);
        if (report.RemainingRequests is not null || report.RemainingTokens is not null)
        {
            k.HintRequests = report.RemainingRequests is { } rr ? Math.Clamp(rr, 0, k.Key.MaxRpm) : null;
            k.HintTokens = report.RemainingTokens is { } rt ? Math.Clamp(rt, 0, k.Key.MaxTpm) : null;
            k.HintUntil = now + (resetAfter > TimeSpan.Zero ? resetAfter : Window);
        }

        switch (report.Outcome)
        {
            case UpstreamOutcome.RateLimited:
                // The same rule the frontend's trace states ("cooling until …").
                k.CoolingUntil = now + RateLimitCooldown.After(k.Key.CooldownSec, report.RetryAfter, report.ResetAfter);
                return null;
            case UpstreamOutcome.AuthFailed:
                k.DisabledReason = "auth";
                return new KeyDisabled(k.Key.Id, "auth");
            case UpstreamOutcome.QuotaExhausted:
                k.DisabledReason = "quota";
                return new KeyDisabled(k.Key.Id, "quota");
            case UpstreamOutcome.ProviderOverloaded:
                var backoff = retryAfter > TimeSpan.Zero ? retryAfter : DefaultOverloadBackoff;
                _providerBackoffUntil = now + (backoff > MaxOverloadBackoff ? MaxOverloadBackoff : backoff);
                return null;
            default:
                return null;
        }
    }

    /// <summary>What the upstream says a request used, believed up to ten minutes of the key's limit (and 100M).</summary>
    internal static long ReportedTokens(long actual, long maxTpm) =>
        Math.Clamp(actual, 0, Math.Min(KeyLimits.MaxReportedTokens, 10 * Math.Clamp(maxTpm, 1, KeyLimits.MaxTpm)));

    public IReadOnlyList<KeyUsage> Usage()
    {
        var now = Now();
        return _keys.Select(k => new KeyUsage(
            k.Key.Id,
            k.Requests.Used(now),
            k.Tokens.Used(now),
            k.CoolingUntil > now ? k.CoolingUntil : null,
            k.DisabledReason ?? k.Key.DisabledReason)).ToArray();
    }

    /// <summary>
    /// Whether grants between snapshots are bounded by <see cref="UnsavedShare"/>: set by a grain whose windows are
    /// stored; off for a pool that is never snapshotted.
    /// </summary>
    public bool BoundUnsaved { get; set; }

    /// <summary>Set when a request waited for a snapshot; the grain then writes one at once instead of at its next tick.</summary>
    public bool SnapshotWanted { get; private set; }

    /// <summary>Something changed since the last snapshot that reached storage (or is on its way there).</summary>
    public bool HasUnsavedChanges => _changeCount != (_writing ? _capturedChanges : _savedChanges);

    /// <summary>
    /// The windows to write, in wall-clock time; the caller must follow with <see cref="EndSnapshot"/>.
    /// <paramref name="final"/> marks the last snapshot of an activation (nothing can be granted after it).
    /// </summary>
    public Dictionary<string, KeyWindowSnapshot> BeginSnapshot(bool final = false)
    {
        var now = Now();
        // Entries are stored in wall-clock ticks for the silo that restores them.
        var toWall = time.GetUtcNow() - now;
        var largest = LargestEstimate(now);
        _writing = true;
        _writeStarted = now;
        _capturedChanges = _changeCount;
        SnapshotWanted = false;
        return _keys.ToDictionary(
            k => k.Key.Id,
            k =>
            {
                k.CapturedRequests = k.GrantedRequests;
                k.CapturedTokens = k.GrantedTokens;
                k.CapturedRequestBudget = final ? 0 : RequestBudget(k.Key.MaxRpm);
                k.CapturedTokenBudget = final ? 0 : TokenBudget(k.Key.MaxTpm, largest);
                return new KeyWindowSnapshot
                {
                    Requests = k.Requests.Snapshot(now, toWall),
                    Tokens = k.Tokens.Snapshot(now, toWall),
                    CoolingUntilTicks = k.CoolingUntil == default ? 0 : (k.CoolingUntil + toWall).UtcTicks,
                    UnsavedRequests = k.CapturedRequestBudget.Value,
                    UnsavedTokens = k.CapturedTokenBudget.Value,
                };
            },
            StringComparer.Ordinal);
    }

    /// <summary>
    /// After a write: once stored, the grants up to its capture are safe; when it failed, the unsaved share is no
    /// longer enforced until a write works again, so a storage outage does not stop serving.
    /// </summary>
    public void EndSnapshot(bool written)
    {
        _writing = false;
        _storageHealthy = written;
        if (!written)
        {
            return;
        }

        _everStored = true;
        _savedChanges = _capturedChanges;
        foreach (var k in _keys)
        {
            k.SavedRequests = k.CapturedRequests;
            k.SavedTokens = k.CapturedTokens;
            k.SavedRequestBudget = k.CapturedRequestBudget;
            k.SavedTokenBudget = k.CapturedTokenBudget;
        }
    }

    /// <summary>
    /// Restores windows written by another activation. Entries stamped ahead of this silo's clock (skew, a step)
    /// count from now. What the snapshot says may have been granted after it (the unsaved share, zero for a final
    /// snapshot) is charged at once, up to the key's limits: the grants a crash lost stay counted. After a
    /// snapshot that was not <paramref name="final"/>, a key it does not hold (added since) is charged the share
    /// its limits give, which is all it could grant before it reached a stored snapshot.
    /// </summary>
    /// <returns>Whether something was charged for a crash.</returns>
    public bool Restore(IReadOnlyDictionary<string, KeyWindowSnapshot> windows, bool final)
    {
        var now = Now();
        var toLocal = now - time.GetUtcNow();
        var charged = false;
        foreach (var k in _keys)
        {
            if (windows.TryGetValue(k.Key.Id, out var w))
            {
                k.Requests.Restore(now, w.Requests, toLocal);
                k.Tokens.Restore(now, w.Tokens, toLocal);
                k.CoolingUntil = w.CoolingUntilTicks <= 0 ? default : new DateTimeOffset(w.CoolingUntilTicks, TimeSpan.Zero) + toLocal;
                charged |= Charge(k.Requests, now, w.UnsavedRequests, k.Key.MaxRpm);
                charged |= Charge(k.Tokens, now, w.UnsavedTokens, k.Key.MaxTpm);
            }
            else if (!final)
            {
                charged |= Charge(k.Requests, now, RequestBudget(k.Key.MaxRpm), k.Key.MaxRpm);
                charged |= Charge(k.Tokens, now, TokenBudget(k.Key.MaxTpm, 0), k.Key.MaxTpm);
            }
        }

        _standingStale = true;
        _changeCount++;
        RebuildIndex(now);
        return charged;
    }

    private static bool Charge(SlidingWindow window, DateTimeOffset now, long unsaved, long limit)
    {
        var amount = Math.Min(Math.Max(0, unsaved), limit - window.Used(now));
        if (amount <= 0)
        {
            return false;
        }

        window.Add(now, 0, amount);
        return true;
    }

    // Small keys get at least a few grants (their whole limit when smaller), or a burst would wait on one write per
    // request: a crash then charges up to that much, blocking such a key for at most the minute after it.
    private static long RequestBudget(long maxRpm) => Math.Max((long)(maxRpm * UnsavedShare), Math.Min(maxRpm, MinUnsaved));

    // Tokens likewise, sized by the requests actually seen: a few of the largest recent estimates fit, up to the
    // whole limit of a small key. Without them a 30k TPM key serving 1k-token requests would grant two per write.
    private static long TokenBudget(long maxTpm, long largestEstimate) =>
        Math.Max((long)(maxTpm * UnsavedShare), Math.Min(maxTpm, MinUnsaved * Math.Max(1, Math.Min(largestEstimate, maxTpm))));

    private void NoteEstimate(long tokens, DateTimeOffset now)
    {
        RollEstimates(now);
        _largestEstimate = Math.Max(_largestEstimate, tokens);
    }

    private long LargestEstimate(DateTimeOffset now)
    {
        RollEstimates(now);
        return Math.Max(_largestEstimate, _previousLargestEstimate);
    }

    private void RollEstimates(DateTimeOffset now)
    {
        if (now - _estimatesSince < Window)
        {
            return;
        }

        _previousLargestEstimate = now - _estimatesSince < 2 * Window ? _largestEstimate : 0;
        _largestEstimate = 0;
        _estimatesSince = now;
    }

    /// <summary>
    /// Whether a grant keeps the key within the unsaved share recorded in the last stored snapshot. A request
    /// larger than the token share may go alone when nothing is unsaved (else it could never be served); the crash
    /// bound then exceeds the limit by at most that one request's estimate beyond the share.
    /// </summary>
    private bool WithinUnsavedShare(KeyRuntime k, long tokens, DateTimeOffset now)
    {
        if (!BoundUnsaved || (_writing && now - _writeStarted > SlowWrite))
        {
            return true;
        }

        long unsavedRequests, unsavedTokens, requestBudget, tokenBudget;
        if (_storageHealthy && _everStored)
        {
            unsavedRequests = k.GrantedRequests - k.SavedRequests;
            unsavedTokens = k.GrantedTokens - k.SavedTokens;
            requestBudget = k.SavedRequestBudget ?? RequestBudget(k.Key.MaxRpm);
            tokenBudget = k.SavedTokenBudget ?? TokenBudget(k.Key.MaxTpm, 0);
        }
        else if (!_storageHealthy && _writing)
        {
            // The write after an outage: the stored snapshot is old, so only the grants since this write's capture
            // can still be bounded; once it lands they are within the share it records.
            unsavedRequests = k.GrantedRequests - k.CapturedRequests;
            unsavedTokens = k.GrantedTokens - k.CapturedTokens;
            requestBudget = k.CapturedRequestBudget ?? RequestBudget(k.Key.MaxRpm);
            tokenBudget = k.CapturedTokenBudget ?? TokenBudget(k.Key.MaxTpm, 0);
        }
        else if (!_storageHealthy)
        {
            // Storage is failing: serving beats the crash bound.
            return true;
        }
        else
        {
            // Nothing stored yet records this activation's share: a crash now would be charged nothing.
            return false;
        }

        return unsavedRequests + 1 <= requestBudget
            && (unsavedTokens == 0 || unsavedTokens + tokens <= tokenBudget);
    }

    /// <summary>The wall clock as of activation plus monotonic time since: steps of the wall clock do not show.</summary>
    private DateTimeOffset Now() => _anchorUtc + time.GetElapsedTime(_anchorTimestamp);

    private KeyRuntime? Find(string keyId) => _byId.GetValueOrDefault(keyId);

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

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
