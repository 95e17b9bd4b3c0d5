using Roxy.Grains.Tenancy;

namespace Roxy.Grains.Routing;

/// <summary>
/// One entry of a tenant's rule index: the source model, who owns the rule, and the version its grain stored it at.
/// The index is all a tenant keeps of its rules; the rules themselves live in their <see cref="IModelRuleGrain"/>s.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.RuleStamp")]
public sealed record RuleStamp(
    [property: Id(0)] string SourceModel,
    [property: Id(1)] Owner Owner,
    [property: Id(2)] long Version);
