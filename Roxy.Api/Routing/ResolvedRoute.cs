namespace Roxy.Api.Routing;

/// <summary>The targets to try for one request, in order; <see cref="RuleSource"/> is set when a rule matched.</summary>
/// <param name="FailoverOnContextLength">The rule opted in to trying the next target when the prompt is too long for one.</param>
public sealed record ResolvedRoute(string RequestedModel, string? RuleSource, IReadOnlyList<RouteTarget> Targets, bool FailoverOnContextLength = false);
