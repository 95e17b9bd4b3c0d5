using Roxy.Api.Proxy;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Commands;

/// <summary>The live state of keys, read from their rotation grains (one call per provider).</summary>
internal static class KeyUsages
{
    public static async Task<Dictionary<string, KeyUsage>> ForAsync(RotationGrains rotations, string tenantId, IEnumerable<ProviderKey> keys)
    {
        var result = new Dictionary<string, KeyUsage>(StringComparer.Ordinal);
        foreach (var provider in keys.Select(k => k.Provider).Distinct(StringComparer.Ordinal))
        {
            foreach (var use in await rotations.Get(tenantId, provider).Grain.GetUsageAsync())
            {
                result[use.KeyId] = use;
            }
        }

        return result;
    }

    public static string State(ProviderKey key, KeyUsage? use, DateTimeOffset now)
    {
        if (!key.Enabled)
        {
            return key.DisabledReason switch
            {
                "admin" => "disabled (by an admin)",
                "auth" => "disabled (provider refused it: 401/403)",
                "quota" => "disabled (quota exhausted)",
                { } other => $"disabled ({other})",
                null => "disabled",
            };
        }

        if (use?.DisabledReason is { } refused)
        {
            return $"disabled ({refused})";
        }

        if (use?.CoolingUntil is { } until && until > now)
        {
            return $"cooling {(int)Math.Ceiling((until - now).TotalSeconds)}s";
        }

        return "active";
    }
}
