namespace Roxy.Grains;

/// <summary>The only place grain string keys are built, so their shape never drifts between callers.</summary>
public static class GrainKeys
{
    /// <summary>The single registry that maps token hashes to tenants.</summary>
    public const string Registry = "registry";

    public static string Tenant(string tenantId) => tenantId;

    public static string Rotation(string tenantId, string provider) => string.Concat(tenantId, "/", provider);

    public static (string TenantId, string Provider) ParseRotation(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == key.Length - 1)
        {
            throw new ArgumentException($"Rotation grain key '{key}' is not 'tenant/provider'.", nameof(key));
        }

        return (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>One model rule: the tenant, then the source model as clients send it (it may hold '/' or ':' itself).</summary>
    public static string ModelRule(string tenantId, string sourceModel) => string.Concat(tenantId, "/", sourceModel);

    /// <summary>Tenant ids never hold '/', so the first one ends the tenant and the rest is the source model.</summary>
    public static (string TenantId, string SourceModel) ParseModelRule(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == key.Length - 1)
        {
            throw new ArgumentException($"Model rule grain key '{key}' is not 'tenant/source-model'.", nameof(key));
        }

        return (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>
    /// The shard of a tenant's prompt cache that holds <paramref name="keyHash"/> (hex): its first digit, so a tenant's
    /// entries spread over 16 grains and every lookup of one key meets the same grain, whichever frontend sends it.
    /// </summary>
    public static string PromptCache(string tenantId, string keyHash) => string.Concat(tenantId, "/", keyHash.AsSpan(0, 1));

    public static string CacheStats(string tenantId) => tenantId;

    /// <summary>A tenant's budget, or with <paramref name="tokenId"/> that of one of its budgeted tokens.</summary>
    public static string Budget(string tenantId, string? tokenId = null) =>
        tokenId is null ? tenantId : string.Concat(tenantId, "/", tokenId);

    public static string Usage(string tenantId) => tenantId;

    /// <summary>A tenant's request traces (<c>#roxy why</c>).</summary>
    public static string RequestTrace(string tenantId) => tenantId;
}
