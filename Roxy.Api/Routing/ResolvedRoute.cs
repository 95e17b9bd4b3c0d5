using Roxy.Grains.Routing;

namespace Roxy.Api.Routing;

/// <summary>The targets to try for one request, in order; <see cref="RuleSource"/> is set when a rule matched.</summary>
/// <param name="FailoverOnContextLength">The rule opted in to trying the next target when the prompt is too long for one.</param>
public sealed record ResolvedRoute(string RequestedModel, string? RuleSource, IReadOnlyList<RouteTarget> Targets, bool FailoverOnContextLength = false)
{
    /// <summary>
    /// What the route decides, for the prompt cache key (<see cref="RuleFingerprint"/>): set once per compiled rule; for
    /// a model no rule names, made from its one target when first asked, so a request the cache skips pays nothing.
    /// </summary>
    public string Fingerprint
    {
        get => field ??= RuleFingerprint.Unlisted(Targets[0].Provider, Targets[0].Model);
        init;
    }

    /// <summary>
    /// What goes into the cache key: <see cref="Fingerprint"/> and, for a rule, the providers its targets were
    /// resolved to (a target without a provider is inferred from the tenant's keys, which can change under the rule).
    /// </summary>
    public string KeyFingerprint
    {
        get => field ?? Fingerprint;
        init;
    }
}
