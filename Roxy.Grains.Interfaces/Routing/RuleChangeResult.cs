namespace Roxy.Grains.Routing;

/// <summary>What a rule change did; <see cref="Rule"/> is the rule as it now stands (null once removed).</summary>
[GenerateSerializer, Immutable, Alias("roxy.RuleChangeResult")]
public sealed record RuleChangeResult(
    [property: Id(0)] RuleChangeStatus Status,
    [property: Id(1)] ModelRule? Rule);
