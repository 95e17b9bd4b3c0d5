using System.Security.Cryptography;
using System.Text.Json;
using Roxy.Api.Secrets;

namespace Roxy.Api.Configuration;

/// <summary>
/// Turns a validated <see cref="RoxyConfig"/> plus the environment into <see cref="ResolvedConfig"/>:
/// providers with defaults, tenant <c>default</c> first (with environment-discovered keys), then
/// <c>tenants[]</c>. Enforces "a secret is one key" and "a token belongs to one tenant"; messages name
/// variables and places, never secret values.
/// </summary>
internal sealed class ConfigResolver(RoxyConfig config, IReadOnlyDictionary<string, string?> environment, ConfigDiagnostics diagnostics)
{
    private const string DefaultTenant = "default";

    private readonly Dictionary<string, (string Tenant, string Where)> _keyOwners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Tenant, string Where)> _tokenOwners = new(StringComparer.Ordinal);

    public ResolvedConfig Resolve()
    {
        var providers = ResolveProviders();
        var known = providers.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

        var tenants = new List<ResolvedTenant>
        {
            ResolveTenant(DefaultTenant, "", config.Tokens, config.ApiKeys, EnvironmentKeyDiscovery.Discover(environment),
                config.ModelRules, config.Cache, config.Models, known, config.Budget),
        };
        for (var i = 0; i < config.Tenants.Count; i++)
        {
            var tenant = config.Tenants[i];
            tenants.Add(ResolveTenant(tenant.Id, $"tenants[{i}].", tenant.Tokens, tenant.ApiKeys, [],
                tenant.ModelRules, tenant.Cache ?? config.Cache, tenant.Models ?? config.Models, known, tenant.Budget));
        }

        return new ResolvedConfig(config, providers, tenants, Fingerprint(providers, tenants), [.. diagnostics.Warnings]);
    }

    private List<ResolvedProvider> ResolveProviders()
    {
        var server = config.Server;
        var resolved = new List<ResolvedProvider>();
        foreach (var name in BuiltInProviders.NamesWith(config))
        {
            var builtIn = BuiltInProviders.Find(name);
            var yaml = config.Providers.GetValueOrDefault(name) ?? new ProviderConfig();
            var url = yaml.BaseUrl.Length > 0 ? yaml.BaseUrl : builtIn?.BaseUrl ?? "";
            if (!ConfigValidator.TryParseBaseUrl(url, out var baseUrl))
            {
                continue; // reported by the validator
            }

            var kind = yaml.Kind switch
            {
                "anthropic" => ProviderKind.Anthropic,
                "openai" => ProviderKind.OpenAi,
                _ => builtIn?.Kind ?? (name == "anthropic" ? ProviderKind.Anthropic : ProviderKind.OpenAi),
            };

            resolved.Add(new ResolvedProvider(
                name,
                kind,
                baseUrl,
                Headers(yaml),
                TimeSpan.FromSeconds(yaml.ConnectTimeoutSec ?? server.ConnectTimeoutSec),
                TimeSpan.FromSeconds(yaml.FirstTokenTimeoutSec ?? server.FirstTokenTimeoutSec),
                TimeSpan.FromSeconds(yaml.IdleTimeoutSec ?? server.IdleTimeoutSec),
                TimeSpan.FromSeconds(yaml.ResponseTimeoutSec ?? server.ResponseTimeoutSec),
                yaml.ProbeModel,
                yaml.DefaultMaxTokens));
        }

        return resolved;
    }

    /// <summary><c>headers</c> plus the attribution fields under their wire names (the validator refuses both at once).</summary>
    private static Dictionary<string, string> Headers(ProviderConfig yaml)
    {
        var headers = new Dictionary<string, string>(yaml.Headers, StringComparer.OrdinalIgnoreCase);
        if (yaml.HttpReferer is { } referer)
        {
            headers[ProviderAttribution.RefererHeader] = referer;
        }

        if (yaml.XTitle is { } title)
        {
            headers[ProviderAttribution.TitleHeader] = title;
        }

        return headers;
    }

    private ResolvedTenant ResolveTenant(
        string id,
        string prefix,
        List<TokenConfig> tokens,
        List<ApiKeyConfig> configKeys,
        IReadOnlyList<ApiKeyConfig> envKeys,
        List<ModelRuleConfig> rules,
        CacheConfig cache,
        ModelsConfig models,
        IReadOnlySet<string> known,
        BudgetConfig? budget)
    {
        return new ResolvedTenant(
            id,
            ResolveTokens(id, prefix, tokens),
            ResolveKeys(id, prefix, configKeys, envKeys),
            [.. rules.Select(r => new ResolvedModelRule(
                r.SourceModel,
                [.. r.TargetModels.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => ModelTarget.Parse(t, known))],
                r.SelectionPolicy,
                r.FailoverOnContextLength))],
            cache,
            models.AllowUnlisted,
            Limits(budget));
    }

    /// <summary>A budget with neither limit is no budget (validated before: each limit is positive and finite).</summary>
    internal static Grains.Budgets.BudgetLimits? Limits(BudgetConfig? budget) =>
        budget is null || (budget.DailyUsd is null && budget.MonthlyUsd is null)
            ? null
            : new((decimal?)budget.DailyUsd, (decimal?)budget.MonthlyUsd);

    private List<ResolvedToken> ResolveTokens(string tenant, string prefix, List<TokenConfig> tokens)
    {
        var resolved = new List<ResolvedToken>();
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (Secret(token.TokenEnv) is not { } secret)
            {
                continue; // unset or invalid: reported by the validator
            }

            var hash = SecretFingerprint.OfToken(secret);
            var path = $"{prefix}tokens[{i}].token_env";
            var where = $"{path} ({token.TokenEnv})";
            if (_tokenOwners.TryGetValue(hash, out var owner))
            {
                diagnostics.Error(path, owner.Tenant == tenant
                    ? $"{token.TokenEnv} holds the same token as {owner.Where}; list each token once"
                    : $"{token.TokenEnv} holds the same token as {owner.Where} of tenant '{owner.Tenant}'; a token belongs to one tenant, give each tenant its own");
                continue;
            }

            _tokenOwners[hash] = (tenant, where);
            resolved.Add(new ResolvedToken("t-" + hash[..10], hash, token.Role, Limits(token.Budget)));
        }

        return resolved;
    }

    private List<ResolvedKey> ResolveKeys(string tenant, string prefix, List<ApiKeyConfig> configKeys, IReadOnlyList<ApiKeyConfig> envKeys)
    {
        var resolved = new List<ResolvedKey>();
        var local = new HashSet<string>(StringComparer.Ordinal);

        for (var i = 0; i < configKeys.Count; i++)
        {
            var key = configKeys[i];
            if (Secret(key.KeyEnvVar) is not { } secret)
            {
                continue; // unset or invalid: reported by the validator
            }

            var fingerprint = SecretFingerprint.OfKey(secret);
            var path = $"{prefix}api_keys[{i}].key_env_var";
            if (_keyOwners.TryGetValue(fingerprint, out var owner))
            {
                diagnostics.Error(path, owner.Tenant == tenant
                    ? $"{key.KeyEnvVar} holds the same key as {owner.Where}; a secret is one key, list it once"
                    : $"{key.KeyEnvVar} holds a key already used by tenant '{owner.Tenant}' ({owner.Where}); a provider key belongs to one tenant so its limits have one limiter");
                continue;
            }

            _keyOwners[fingerprint] = (tenant, $"{path} ({key.KeyEnvVar})");
            local.Add(fingerprint);
            resolved.Add(ToKey(key, fingerprint, "config"));
        }

        foreach (var key in envKeys)
        {
            var fingerprint = SecretFingerprint.OfKey(Secret(key.KeyEnvVar)!);
            if (local.Contains(fingerprint))
            {
                continue; // same secret already listed (config entry wins, or an earlier variable)
            }

            // A discovered variable is listed nowhere, so the validator has not looked at it.
            if (SecretText.IsUnusable(environment[key.KeyEnvVar!]!))
            {
                diagnostics.ErrorAt($"env {key.KeyEnvVar}", "", ConfigValidator.UnusableSecret(key.KeyEnvVar!, "the provider key"));
                continue;
            }

            if (_keyOwners.TryGetValue(fingerprint, out var owner))
            {
                diagnostics.ErrorAt($"env {key.KeyEnvVar}", "",
                    $"{key.KeyEnvVar} holds a key already used by tenant '{owner.Tenant}' ({owner.Where}); a provider key belongs to one tenant");
                continue;
            }

            _keyOwners[fingerprint] = (tenant, $"env {key.KeyEnvVar}");
            local.Add(fingerprint);
            resolved.Add(ToKey(key, fingerprint, "env"));
        }

        return resolved;
    }

    private static ResolvedKey ToKey(ApiKeyConfig key, string fingerprint, string source) =>
        new("k-" + fingerprint[..10], key.Provider, key.KeyEnvVar!, fingerprint, key.MaxRpm, key.MaxTpm, key.CooldownSec, source);

    private string? Secret(string? variable) =>
        !string.IsNullOrEmpty(variable) && environment.TryGetValue(variable, out var value) && !string.IsNullOrWhiteSpace(value)
            ? SecretText.Clean(value)
            : null;

    /// <summary>SHA-256 over a canonical JSON of providers and tenants (hashes and variable names only).</summary>
    // Fields added later (a budget) are left out while unset, so a config that does not use them keeps its fingerprint.
    private static readonly JsonSerializerOptions FingerprintJson = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private static string Fingerprint(IReadOnlyList<ResolvedProvider> providers, IReadOnlyList<ResolvedTenant> tenants)
    {
        var canonical = new
        {
            version = 1,
            providers = providers.Select(p => new
            {
                p.Name,
                Kind = p.Kind.ToString(),
                BaseUrl = p.BaseUrl.AbsoluteUri,
                Headers = p.Headers.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase).Select(h => new[] { h.Key, h.Value }),
                Timeouts = new[] { p.ConnectTimeout.Ticks, p.FirstTokenTimeout.Ticks, p.IdleTimeout.Ticks, p.ResponseTimeout.Ticks },
            }),
            tenants = tenants.Select(t => new
            {
                t.Id,
                Tokens = t.Tokens.Select(k => k.Budget is null ? new object?[] { k.Hash, k.Role } : [k.Hash, k.Role, k.Budget.DailyUsd, k.Budget.MonthlyUsd]),
                Keys = t.Keys.Select(k => new object[] { k.Fingerprint, k.Provider, k.EnvVar, k.MaxRpm, k.MaxTpm, k.CooldownSec, k.Source }),
                Rules = t.ModelRules.Select(r => new
                {
                    r.SourceModel,
                    Targets = r.Targets.Select(x => new[] { x.Provider, x.Model }),
                    r.Policy,
                    r.FailoverOnContextLength,
                }),
                Cache = new object[] { t.Cache.Enabled, t.Cache.TtlSec, t.Cache.Mode, t.Cache.MaxEntryBytes },
                t.AllowUnlisted,
                Budget = t.Budget is null ? null : new[] { t.Budget.DailyUsd, t.Budget.MonthlyUsd },
            }),
        };

        var bytes = JsonSerializer.SerializeToUtf8Bytes(canonical, FingerprintJson);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
