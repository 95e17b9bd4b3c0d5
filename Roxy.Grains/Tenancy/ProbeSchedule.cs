namespace Roxy.Grains.Tenancy;

/// <summary>
/// When each key the provider refused (auth, quota) is probed next. Kept in the tenant grain's memory: a new activation
/// starts every refused key at one plain interval, which only makes it probe a little sooner.
/// <para>
/// A probe can be wrong: a provider may accept the probe and refuse real requests again (a <c>/models</c> probe of a
/// quota key, a probe model with its own allowance). Each time a key that a probe brought back is refused again for
/// the same reason within <see cref="MaxBackoff"/>, its interval doubles, up to <see cref="MaxBackoff"/> (or the
/// configured interval, if longer). Refused later than that, the key evidently served in between and starts over;
/// an admin enabling or disabling it starts it over too.
/// </para>
/// </summary>
internal sealed class ProbeSchedule(TimeProvider time)
{
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);

    private readonly Dictionary<string, Entry> _keys = new(StringComparer.Ordinal);

    /// <summary>The provider refused the key; its first probe is one (backed-off) interval away.</summary>
    public void Refused(string keyId, string? reason)
    {
        var now = time.GetUtcNow();
        var entry = Get(keyId);
        entry.Relapses = entry.ReturnedFor is not null && entry.ReturnedFor == reason && now - entry.ReturnedAt < MaxBackoff
            ? entry.Relapses + 1
            : 0;
        entry.ReturnedFor = null;
        entry.LastProbe = now;
    }

    /// <summary>A probe brought the key back into rotation; if the provider refuses it again soon, it backs off.</summary>
    public void Returned(string keyId, string reason)
    {
        var entry = Get(keyId);
        entry.ReturnedFor = reason;
        entry.ReturnedAt = time.GetUtcNow();
    }

    /// <summary>An admin decided: whatever the probes learnt no longer applies.</summary>
    public void Forget(string keyId) => _keys.Remove(keyId);

    /// <summary>Whether the refused key is due for a probe; if so, it is not due again for one more interval.</summary>
    public bool TryClaim(string keyId, TimeSpan interval)
    {
        var now = time.GetUtcNow();
        var entry = Get(keyId);
        // Refused before this activation: waits one interval like a key refused just now.
        if (entry.LastProbe is not { } last)
        {
            entry.LastProbe = now;
            return false;
        }

        if (now - last < Interval(interval, entry.Relapses))
        {
            return false;
        }

        entry.LastProbe = now;
        return true;
    }

    /// <summary>The interval doubled once per relapse, capped at an hour (or at the interval itself, if longer).</summary>
    public static TimeSpan Interval(TimeSpan interval, int relapses)
    {
        var cap = interval > MaxBackoff ? interval : MaxBackoff;
        var result = interval;
        for (var i = 0; i < relapses && result < cap; i++)
        {
            result += result;
        }

        return result < cap ? result : cap;
    }

    private Entry Get(string keyId)
    {
        if (!_keys.TryGetValue(keyId, out var entry))
        {
            _keys[keyId] = entry = new Entry();
        }

        return entry;
    }

    private sealed class Entry
    {
        public DateTimeOffset? LastProbe { get; set; }

        public int Relapses { get; set; }

        public string? ReturnedFor { get; set; }

        public DateTimeOffset ReturnedAt { get; set; }
    }
}
