namespace Roxy.Grains.Routing;

/// <summary>
/// A rule as its grain holds it. <see cref="Version"/> grows with every stored change (a removal too), so a frontend's
/// copy is current when its version is at least the one in the tenant's index.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.VersionedRule")]
public sealed record VersionedRule(
    [property: Id(0)] ModelRule? Rule,
    [property: Id(1)] long Version);
