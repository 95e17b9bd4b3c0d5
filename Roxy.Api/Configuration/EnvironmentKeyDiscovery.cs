namespace Roxy.Api.Configuration;

/// <summary>
/// Provider keys of tenant <c>default</c> taken from the environment without a config entry:
/// <c>OPENAI_API_KEY</c>, <c>OPENAI_API_KEY_*</c>, and the same for ANTHROPIC, OPENROUTER and CHUTES.
/// Empty variables are ignored. Discovered keys get the default limits of <see cref="ApiKeyConfig"/>
/// (max_rpm 500, max_tpm 200000, cooldown_sec 60).
/// </summary>
public static class EnvironmentKeyDiscovery
{
    /// <summary>One <see cref="ApiKeyConfig"/> per non-empty matching variable, ordered by provider then variable name.</summary>
    public static IReadOnlyList<ApiKeyConfig> Discover(IReadOnlyDictionary<string, string?> environment)
    {
        var found = new List<ApiKeyConfig>();
        foreach (var provider in BuiltInProviders.All)
        {
            var names = environment
                .Where(e => !string.IsNullOrWhiteSpace(e.Value) && Matches(e.Key, provider.KeyEnvPrefix))
                .Select(e => e.Key)
                .Order(StringComparer.Ordinal);
            found.AddRange(names.Select(name => new ApiKeyConfig { KeyEnvVar = name, Provider = provider.Name }));
        }

        return found;
    }

    private static bool Matches(string name, string prefix) =>
        name == prefix
        || (name.Length > prefix.Length + 1
            && name.StartsWith(prefix + "_", StringComparison.Ordinal)
            && name[(prefix.Length + 1)..].All(c => char.IsAsciiLetterOrDigit(c) || c == '_'));
}
