using Roxy.Grains.Routing;

namespace Roxy.Api.Administration;

/// <summary>A tenant's rules (ordered by source) and whether models no rule names may still be asked for.</summary>
public sealed record RuleListing(IReadOnlyList<ModelRule> Rules, bool AllowUnlisted);
