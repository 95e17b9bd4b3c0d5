using System.Text.RegularExpressions;

namespace Roxy.Api.Tenancy;

/// <summary>What a tenant id may be, for the config and the admin API alike: 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit.</summary>
public static partial class TenantIds
{
    public const string Rule = "use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit";

    public static bool IsValid(string id) => Pattern().IsMatch(id);

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,62}$")]
    private static partial Regex Pattern();
}
