using Roxy.Grains.Budgets;
using Roxy.Grains.Rotation;
using Roxy.Grains.Routing;

namespace Roxy.Grains.Tenancy;

/// <summary>What the YAML says about one tenant: the config-owned items, applied idempotently at every start.</summary>
/// <param name="Budget">The config's budget for the tenant: when set it is config-owned, and the operator cannot change it at run time.</param>
[GenerateSerializer, Immutable, Alias("roxy.TenantConfigSnapshot")]
public sealed record TenantConfigSnapshot(
    [property: Id(0)] string ConfigFingerprint,
    [property: Id(1)] IReadOnlyList<TenantToken> Tokens,
    [property: Id(2)] IReadOnlyList<ProviderKey> Keys,
    [property: Id(3)] IReadOnlyList<ModelRule> ModelRules,
    [property: Id(4)] CacheSettings Cache,
    [property: Id(5)] bool AllowUnlisted,
    [property: Id(6)] BudgetLimits? Budget = null);
