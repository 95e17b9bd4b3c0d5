using Roxy.Api.Administration;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// One key as <c>#roxy list keys</c> shows it. <c>state</c>: active, cooling Ns, or disabled (why);
/// <c>source</c>: env, config or runtime (added by chat or this API); <c>source_variable</c>: the environment variable of
/// an env or config key; <c>owner</c>: config (follows the YAML, cannot be removed here) or runtime.
/// </summary>
public sealed record KeyView(
    string Id, string Provider, string Mask, KeyLimits Limits, bool Enabled, string State,
    long RequestsThisMinute, long TokensThisMinute, string Source, string? SourceVariable, string Owner)
{
    public static KeyView Example { get; } = new("k-3f9a0c12d4", "openai", "sk-…a1b2", new KeyLimits(500, 200_000, 60), true, "active", 12, 5400, "runtime", null, "runtime");

    public static KeyView From(KeyRow row) => new(
        row.Key.Id, row.Key.Provider, row.Key.Mask, new KeyLimits(row.Key.MaxRpm, row.Key.MaxTpm, row.Key.CooldownSec), row.Key.Enabled, row.State,
        row.RequestsInWindow, row.TokensInWindow, row.Source, row.Variable, row.Key.Owner == Grains.Tenancy.Owner.Config ? "config" : "runtime");
}
