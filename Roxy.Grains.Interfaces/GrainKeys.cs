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
}
