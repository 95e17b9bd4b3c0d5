namespace Roxy.Grains.Routing;

/// <summary>A rule target: <c>[provider:]model</c>; a null provider is inferred from the model name at request time.</summary>
[GenerateSerializer, Immutable, Alias("roxy.RuleTarget")]
public sealed record RuleTarget(
    [property: Id(0)] string? Provider,
    [property: Id(1)] string Model);
