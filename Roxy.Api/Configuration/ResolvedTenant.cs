namespace Roxy.Api.Configuration;

/// <summary>A tenant's config-owned tokens, keys and rules.</summary>
public sealed record ResolvedTenant(
    string Id,
    IReadOnlyList<ResolvedToken> Tokens,
    IReadOnlyList<ResolvedKey> Keys,
    IReadOnlyList<ResolvedModelRule> ModelRules,
    CacheConfig Cache,
    bool AllowUnlisted);
