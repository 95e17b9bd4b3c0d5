using Roxy.Grains.Budgets;
using Roxy.Grains.Rotation;
using Roxy.Grains.Routing;

namespace Roxy.Grains.Tenancy;

/// <summary>Everything a frontend needs to serve a tenant, versioned so copies can be refreshed cheaply.</summary>
/// <param name="Rules">
/// The index of the tenant's model rules (names, owners, versions); the rules themselves are read from their grains.
/// Id 4 held the rules themselves before they became grains; it is not reused.
/// </param>
/// <param name="Budget">The tenant's spending cap (config or operator); null when it has none.</param>
/// <param name="Owner">Config tenants follow the YAML; runtime ones were created through the admin API.</param>
/// <param name="CacheGeneration">Part of every prompt cache key: bumped by <c>#roxy cache clear</c>, so every entry made before is unreachable at once.</param>
[GenerateSerializer, Immutable, Alias("roxy.TenantSnapshot")]
public sealed record TenantSnapshot(
    [property: Id(0)] string TenantId,
    [property: Id(1)] long Version,
    [property: Id(2)] IReadOnlyList<TenantToken> Tokens,
    [property: Id(3)] IReadOnlyList<ProviderKey> Keys,
    [property: Id(9)] IReadOnlyList<RuleStamp> Rules,
    [property: Id(5)] CacheSettings Cache,
    [property: Id(6)] bool AllowUnlisted,
    [property: Id(7)] string? ConfigFingerprint,
    [property: Id(8)] bool Exists,
    [property: Id(10)] long CacheGeneration = 0,
    [property: Id(11)] BudgetLimits? Budget = null,
    [property: Id(12)] Owner Owner = Owner.Config);
