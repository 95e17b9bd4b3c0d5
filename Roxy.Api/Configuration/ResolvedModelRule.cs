namespace Roxy.Api.Configuration;

/// <summary>A model rule with its targets split into provider and model.</summary>
public sealed record ResolvedModelRule(
    string SourceModel,
    IReadOnlyList<ModelTarget> Targets,
    string Policy,
    bool FailoverOnContextLength);
