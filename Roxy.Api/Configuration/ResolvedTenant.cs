using Roxy.Grains.Budgets;

namespace Roxy.Api.Configuration;

/// <summary>A tenant's config-owned tokens, keys and rules.</summary>
/// <param name="Budget">The config's cap for the tenant; null when the YAML sets none.</param>
public sealed record ResolvedTenant(
    string Id,
    IReadOnlyList<ResolvedToken> Tokens,
    IReadOnlyList<ResolvedKey> Keys,
    IReadOnlyList<ResolvedModelRule> ModelRules,
    CacheConfig Cache,
    bool AllowUnlisted,
    BudgetLimits? Budget = null);
