using Roxy.Api.Tracing;
using Roxy.Grains.Tracing;

namespace Roxy.Api.Apis.Admin;

/// <summary>A key the rotation passed over at a step, and why.</summary>
/// <param name="Reason"><c>cooling</c>, <c>disabled</c>, <c>no_headroom</c>, <c>too_small</c> or <c>excluded</c> (already tried).</param>
/// <param name="Until">When a cooling key comes back (or a busy key's slot frees), if known.</param>
/// <param name="Detail">For a disabled key, why (<c>auth</c>, <c>quota</c>, <c>admin</c>, …).</param>
/// <param name="Summary">The same words as <c>#roxy why</c>.</param>
public sealed record KeySkipView(string KeyId, string Reason, DateTimeOffset? Until, string? Detail, string Summary)
{
    public static KeySkipView Example { get; } = From(new KeySkip("k-openai-2", KeySkipReason.Cooling, new DateTimeOffset(2026, 1, 15, 9, 31, 0, TimeSpan.Zero), null));

    public static KeySkipView From(KeySkip skip) => new(skip.KeyId, TraceExplainer.Reason(skip.Reason), skip.Until, skip.Detail, TraceExplainer.Why(skip));
}
