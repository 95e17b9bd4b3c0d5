namespace Roxy.Api.Routing;

/// <summary>The targets to try for one request, in order; <see cref="RuleSource"/> is set when a rule matched.</summary>
public sealed record ResolvedRoute(string RequestedModel, string? RuleSource, IReadOnlyList<RouteTarget> Targets);
