using Roxy.Grains.Tenancy;

namespace Roxy.Grains.Routing;

/// <summary>Maps a requested model to target models, tried in the order the policy picks.</summary>
[GenerateSerializer, Immutable, Alias("roxy.ModelRule")]
public sealed record ModelRule(
    [property: Id(0)] string SourceModel,
    [property: Id(1)] IReadOnlyList<RuleTarget> Targets,
    [property: Id(2)] SelectionPolicy Policy,
    [property: Id(3)] bool FailoverOnContextLength,
    [property: Id(4)] Owner Owner);
