namespace Roxy.Faults;

/// <summary>
/// A provider key whose requests the fake upstream counts (and limits itself, at the same <paramref name="MaxRpm"/> Roxy
/// is given). <paramref name="Variable"/> is the environment variable of a config key, null for one added at run time.
/// </summary>
public sealed record TrackedKey(string Tenant, string Secret, int MaxRpm, string? Variable)
{
    /// <summary>How Roxy shows the key in listings: <c>sk-…</c> and its last four characters.</summary>
    public string Mask => "sk-…" + Secret[^4..];
}
