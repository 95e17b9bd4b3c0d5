namespace Roxy.Grains.Routing;

/// <summary>The persisted rule (JSON in PostgreSQL). A removed rule keeps its row and version, so versions never repeat.</summary>
[GenerateSerializer]
public sealed class ModelRuleState
{
    [Id(0)] public ModelRule? Rule { get; set; }
    [Id(1)] public long Version { get; set; }
}
