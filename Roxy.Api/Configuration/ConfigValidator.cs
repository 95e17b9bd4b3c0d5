using System.Text.RegularExpressions;
using Roxy.Api.Secrets;
using Roxy.Grains.Routing;

namespace Roxy.Api.Configuration;

/// <summary>
/// Checks that need more than one field or the environment: addresses, URLs, provider names and
/// references, environment variables, tenant ids, unique rule sources, embedding rules naming one model, ports. Field-level types,
/// enums and ranges were already checked by <see cref="YamlBinder"/>.
/// </summary>
internal static partial class ConfigValidator
{
    private static readonly string[] CredentialHeaders = ["authorization", "x-api-key", "api-key", "proxy-authorization", "cookie"];

    public static void Validate(RoxyConfig config, IReadOnlyDictionary<string, string?> environment, ConfigDiagnostics diagnostics)
    {
        if (!ListenAddress.TryParse(config.ListenAddr, out _, out _))
        {
            diagnostics.Error("listen_addr", $"'{config.ListenAddr}' is not a listen address; {ListenAddress.Allowed}");
        }

        ValidateProviders(config, diagnostics);
        var known = BuiltInProviders.NamesWith(config).ToHashSet(StringComparer.Ordinal);

        ValidateSection("", config.Tokens, config.ApiKeys, config.ModelRules, known, environment, diagnostics);
        if (config.Tokens.Count == 0)
        {
            diagnostics.Warning("",
                "tenant 'default' has no tokens and cannot be used; set ROXY_TOKEN and add `tokens: [{ token_env: ROXY_TOKEN, role: admin }]` at the top level");
        }

        var tenantIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < config.Tenants.Count; i++)
        {
            var tenant = config.Tenants[i];
            var prefix = $"tenants[{i}]";
            ValidateTenantId(tenant.Id, i, prefix, tenantIds, diagnostics);
            ValidateSection(prefix + ".", tenant.Tokens, tenant.ApiKeys, tenant.ModelRules, known, environment, diagnostics);
            if (tenant.Tokens.Count == 0 && Tenancy.TenantIds.IsValid(tenant.Id) && tenant.Id != "default")
            {
                diagnostics.Warning(prefix,
                    $"tenant '{tenant.Id}' has no tokens and cannot be used; set a token variable (e.g. ROXY_TOKEN) and add `tokens: [{{ token_env: ROXY_TOKEN, role: admin }}]` to it");
            }
        }

        ValidateBudgets(config, diagnostics);
        ValidateCluster(config.Cluster, diagnostics);
        ValidatePrices(config.Prices, known, diagnostics);
    }

    /// <summary>Keys of <c>prices:</c>: a bare model or <c>provider:model</c> naming a known provider. Values were checked by the binder.</summary>
    private static void ValidatePrices(OrderedDictionary<string, PriceConfig> prices, HashSet<string> known, ConfigDiagnostics diagnostics)
    {
        foreach (var (key, price) in prices)
        {
            var path = $"prices.{key}";
            // Checked here, not by a range rule: a refused value would leave a required field empty and say so twice.
            var valid = true;
            foreach (var (field, value) in new[] { ("input", price.Input), ("output", price.Output), ("cached_input", price.CachedInput) })
            {
                // Written so that NaN fails too.
                if (value is { } v && v is not (>= 0 and <= MaxPricePerMillion))
                {
                    valid = false;
                    diagnostics.Error($"{path}.{field}",
                        $"must be a price in USD per 1M tokens from 0 to {MaxPricePerMillion:0}, got '{v.ToString(System.Globalization.CultureInfo.InvariantCulture)}'");
                }
            }

            // A budget's worst case prices every input token at `input`: a dearer cached rate would let a request cost more.
            if (valid && price is { Input: { } input, CachedInput: { } cached } && cached > input)
            {
                diagnostics.Error($"{path}.cached_input",
                    string.Create(System.Globalization.CultureInfo.InvariantCulture, $"must not be above input ({input}), got '{cached}'; input read from the provider's cache costs at most fresh input"));
            }

            var colon = key.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            var provider = key[..colon];
            if (colon == key.Length - 1 || string.IsNullOrWhiteSpace(key[(colon + 1)..]))
            {
                diagnostics.Error(path, "names no model; write `provider:model` (e.g. `openai:gpt-4o-mini`) or a bare model");
            }
            else if (!known.Contains(provider))
            {
                diagnostics.Error(path, $"unknown provider '{provider}'{Suggest(provider, known)}; write `provider:model` with a provider of this config or a bare model");
            }
        }
    }

    /// <summary>
    /// A million USD per 1M tokens is far above any real price (a typo), and well inside decimal's range, which a
    /// price like 1e30 is not.
    /// </summary>
    internal const double MaxPricePerMillion = 1_000_000;

    /// <summary>More than a billion dollars a window is surely a typo (and far from where USD amounts lose precision).</summary>
    internal const double MaxBudgetUsd = 1_000_000_000;

    // SPEC §6: each limit positive or absent, and a token's never above its tenant's for the same window.
    private static void ValidateBudgets(RoxyConfig config, ConfigDiagnostics diagnostics)
    {
        ValidateBudgetsOf("", config.Budget, config.Tokens, diagnostics);
        for (var i = 0; i < config.Tenants.Count; i++)
        {
            ValidateBudgetsOf($"tenants[{i}].", config.Tenants[i].Budget, config.Tenants[i].Tokens, diagnostics);
        }
    }

    private static void ValidateBudgetsOf(string prefix, BudgetConfig? tenant, List<TokenConfig> tokens, ConfigDiagnostics diagnostics)
    {
        ValidateLimit(prefix + "budget.daily_usd", tenant?.DailyUsd, diagnostics);
        ValidateLimit(prefix + "budget.monthly_usd", tenant?.MonthlyUsd, diagnostics);
        if (tenant is { DailyUsd: { } daily, MonthlyUsd: { } monthly } && IsLimit(daily) && IsLimit(monthly) && daily > monthly)
        {
            diagnostics.Warning(prefix + "budget.daily_usd", $"is above monthly_usd ({Usd(monthly)}); the monthly limit will stop requests first");
        }

        for (var i = 0; i < tokens.Count; i++)
        {
            var path = $"{prefix}tokens[{i}].budget";
            var token = tokens[i].Budget;
            ValidateLimit(path + ".daily_usd", token?.DailyUsd, diagnostics);
            ValidateLimit(path + ".monthly_usd", token?.MonthlyUsd, diagnostics);
            if (token?.DailyUsd is { } tokenDaily && tenant?.DailyUsd is { } tenantDaily && IsLimit(tokenDaily) && IsLimit(tenantDaily) && tokenDaily > tenantDaily)
            {
                diagnostics.Error(path + ".daily_usd", $"{Usd(tokenDaily)} is above the tenant's daily_usd ({Usd(tenantDaily)}); a token's budget can only be lower than its tenant's");
            }

            if (token?.MonthlyUsd is { } tokenMonthly && tenant?.MonthlyUsd is { } tenantMonthly && IsLimit(tokenMonthly) && IsLimit(tenantMonthly) && tokenMonthly > tenantMonthly)
            {
                diagnostics.Error(path + ".monthly_usd", $"{Usd(tokenMonthly)} is above the tenant's monthly_usd ({Usd(tenantMonthly)}); a token's budget can only be lower than its tenant's");
            }
        }
    }

    private static void ValidateLimit(string path, double? limit, ConfigDiagnostics diagnostics)
    {
        if (limit is { } usd && !IsLimit(usd))
        {
            diagnostics.Error(path, $"must be an amount of USD greater than 0 and at most {MaxBudgetUsd:0}, got {Usd(usd)}; leave it out for no limit");
        }
    }

    // A limit already reported as bad is not compared with another as well: one line per problem.
    private static bool IsLimit(double usd) => usd is > 0 and <= MaxBudgetUsd;

    private static string Usd(double value) => value.ToString("0.##########", System.Globalization.CultureInfo.InvariantCulture);

    private static void ValidateProviders(RoxyConfig config, ConfigDiagnostics diagnostics)
    {
        foreach (var (name, provider) in config.Providers)
        {
            var path = $"providers.{name}";
            if (!ProviderNamePattern().IsMatch(name))
            {
                diagnostics.Error(path, $"'{name}' is not a valid provider name; use 1-63 lowercase letters, digits, '-' or '_' (no ':')");
            }

            if (provider.BaseUrl.Length == 0)
            {
                if (BuiltInProviders.Find(name) is null)
                {
                    diagnostics.Error(path + ".base_url",
                        $"is required for a provider that is not built in ({string.Join(", ", BuiltInProviders.All.Select(p => p.Name))}); give an absolute http or https URL");
                }
            }
            else if (!TryParseBaseUrl(provider.BaseUrl, out _))
            {
                diagnostics.Error(path + ".base_url", $"'{provider.BaseUrl}' is not an absolute http or https URL");
            }

            if (provider.ProbeModel is { } probeModel && (string.IsNullOrWhiteSpace(probeModel) || probeModel.Any(char.IsControl)))
            {
                diagnostics.Error(path + ".probe_model", "must be a model name; leave it out to probe with the tenant's first chat model on this provider");
            }

            foreach (var (header, value) in provider.Headers)
            {
                if (!HeaderNamePattern().IsMatch(header))
                {
                    diagnostics.Error($"{path}.headers.{header}", "is not a valid HTTP header name; use letters, digits and '-'");
                }
                else if (CredentialHeaders.Contains(header.ToLowerInvariant()))
                {
                    diagnostics.Error($"{path}.headers.{header}",
                        "credentials do not belong in the config file; provider keys come from api_keys[].key_env_var or the environment");
                }
                else if (!IsHeaderValue(value))
                {
                    diagnostics.Error($"{path}.headers.{header}", HeaderValueExpectation);
                }
            }

            ValidateAttribution(path, provider, diagnostics);
        }
    }

    private const string HeaderValueExpectation =
        "must be printable ASCII without leading or trailing spaces (it is sent as an HTTP header value)";

    /// <summary>Printable ASCII, not blank at either end: what every HTTP stack sends unchanged.</summary>
    internal static bool IsHeaderValue(string value) =>
        value.Length > 0 && value[0] != ' ' && value[^1] != ' ' && !value.AsSpan().ContainsAnyExceptInRange(' ', '~');

    private static void ValidateAttribution(string path, ProviderConfig provider, ConfigDiagnostics diagnostics)
    {
        if (provider.HttpReferer is { } referer)
        {
            if (!IsHeaderValue(referer))
            {
                diagnostics.Error(path + ".http_referer", HeaderValueExpectation + "; expected your app's URL, e.g. https://myapp.example");
            }
            else if (!Uri.TryCreate(referer, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
            {
                diagnostics.Error(path + ".http_referer",
                    $"{SecretLookalike.Quote(referer)} is not an absolute http or https URL; expected your app's URL, e.g. https://myapp.example");
            }
            else if (provider.Headers.Keys.Any(h => h.Equals(ProviderAttribution.RefererHeader, StringComparison.OrdinalIgnoreCase)))
            {
                diagnostics.Error(path + ".http_referer", $"is also set as headers.{ProviderAttribution.RefererHeader}; keep one of them");
            }
        }

        if (provider.XTitle is { } title)
        {
            if (!IsHeaderValue(title))
            {
                diagnostics.Error(path + ".x_title", HeaderValueExpectation);
            }
            else if (provider.Headers.Keys.Any(h => h.Equals(ProviderAttribution.TitleHeader, StringComparison.OrdinalIgnoreCase)))
            {
                diagnostics.Error(path + ".x_title", $"is also set as headers.{ProviderAttribution.TitleHeader}; keep one of them");
            }
        }
    }

    internal static bool TryParseBaseUrl(string value, out Uri uri) =>
        Uri.TryCreate(value.TrimEnd('/'), UriKind.Absolute, out uri!)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && uri.Host.Length > 0;

    private static void ValidateSection(
        string prefix,
        List<TokenConfig> tokens,
        List<ApiKeyConfig> keys,
        List<ModelRuleConfig> rules,
        HashSet<string> known,
        IReadOnlyDictionary<string, string?> environment,
        ConfigDiagnostics diagnostics)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            CheckVariable(tokens[i].TokenEnv, $"{prefix}tokens[{i}].token_env", "the tenant token", environment, diagnostics);
        }

        for (var i = 0; i < keys.Count; i++)
        {
            var path = $"{prefix}api_keys[{i}]";
            CheckVariable(keys[i].KeyEnvVar, path + ".key_env_var", "the provider key", environment, diagnostics);
            if (keys[i].Provider.Length > 0 && !known.Contains(keys[i].Provider))
            {
                diagnostics.Error(path + ".provider",
                    $"'{keys[i].Provider}' is not a known provider{Suggest(keys[i].Provider, known)}; known providers: {string.Join(", ", known)} (add others under providers:)");
            }
        }

        var sources = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var path = $"{prefix}model_rules[{i}]";
            if (rule.SourceModel.Length > 0 && !Proxy.ChatRequestReader.IsModelName(rule.SourceModel))
            {
                diagnostics.Error(path + ".source_model",
                    $"must be at most {Proxy.ChatRequestReader.MaxModelLength} printable ASCII characters without spaces, as clients send model names");
            }
            else if (rule.SourceModel.Length > 0 && !sources.TryAdd(rule.SourceModel, i))
            {
                diagnostics.Error(path + ".source_model",
                    $"'{rule.SourceModel}' is already the source of {prefix}model_rules[{sources[rule.SourceModel]}]; each source model has one rule per tenant");
            }

            if (rule.TargetModels.Count == 0 && !diagnostics.HasError(path + ".target_models"))
            {
                diagnostics.Error(path + ".target_models", "must list at least one target model, e.g. [gpt-4o, anthropic:claude-3-5-sonnet-latest]");
            }

            var valid = true;
            for (var j = 0; j < rule.TargetModels.Count; j++)
            {
                if (TargetProblem(rule.TargetModels[j], known) is { } problem)
                {
                    diagnostics.Error($"{path}.target_models[{j}]", problem);
                    valid = false;
                }
            }

            if (valid && EmbeddingProblem(rule.SourceModel, rule.TargetModels.Select(t => ModelTarget.Parse(t, known))) is { } mixed)
            {
                diagnostics.Error(path + ".target_models", mixed);
            }
        }
    }

    /// <summary>What is wrong with a rule target, config or chat alike, or null when it is a valid <c>[provider:]model</c>.</summary>
    internal static string? TargetProblem(string target, IReadOnlySet<string> known)
    {
        if (string.IsNullOrWhiteSpace(target))
        {
            return "must not be empty; expected [provider:]model";
        }

        // The model name goes into a response header (x-roxy-model) and log lines, as a client's does.
        if (!Proxy.ChatRequestReader.IsModelName(target))
        {
            return $"must be at most {Proxy.ChatRequestReader.MaxModelLength} printable ASCII characters without spaces; expected [provider:]model";
        }

        var parsed = ModelTarget.Parse(target, known);
        if (parsed.Provider is not null)
        {
            return parsed.Model.Length == 0 ? $"'{target}' names provider '{parsed.Provider}' but no model; expected {parsed.Provider}:model" : null;
        }

        // Otherwise the whole text is a model name (llama3:8b), unless its prefix is a near miss of a provider.
        var colon = target.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && Suggest(target[..colon], known) is { Length: > 0 } suggestion
            ? $"'{target[..colon]}' is not a known provider{suggestion}; known providers: {string.Join(", ", known)}"
            : null;
    }

    /// <summary>Null unless this is an embedding rule whose targets name different models (see <see cref="EmbeddingModels"/>).</summary>
    internal static string? EmbeddingProblem(string sourceModel, IEnumerable<ModelTarget> targets)
    {
        var mixed = EmbeddingModels.Mixed(sourceModel, targets.Select(t => t.Model));
        return mixed.Count == 0
            ? null
            : $"an embedding rule (a model name contains 'embed') must name one model, got {string.Join(", ", mixed.Select(m => $"'{m}'"))}; "
              + "vectors of different embedding models cannot be compared, so its targets may differ only in provider";
    }

    private static void CheckVariable(
        string? variable, string path, string what, IReadOnlyDictionary<string, string?> environment, ConfigDiagnostics diagnostics)
    {
        if (string.IsNullOrEmpty(variable))
        {
            return; // reported by the binder as required
        }

        if (!EnvVarNamePattern().IsMatch(variable))
        {
            // Never echo the value: it is most likely the secret itself.
            diagnostics.Error(path,
                $"must be the name of an environment variable (letters, digits and '_'), not {what} itself; put {what} in a variable and name it here");
            return;
        }

        if (!environment.TryGetValue(variable, out var value) || value is null)
        {
            // A hex or base64 token passes as a variable name; printing it back would put the secret in the logs.
            diagnostics.Error(path, SecretLookalike.IsLikely(variable)
                ? $"the value looks like {what} itself, not the name of an environment variable ({variable.Length} characters, not shown); put {what} in a variable and name it here"
                : $"environment variable {variable} is not set; set it to {what} or remove this entry");
        }
        else if (string.IsNullOrWhiteSpace(value))
        {
            diagnostics.Error(path, $"environment variable {variable} is empty; set it to {what} or remove this entry");
        }
        else if (SecretText.IsUnusable(value))
        {
            diagnostics.Error(path, UnusableSecret(variable, what));
        }
    }

    /// <summary>The one line for a secret that cannot be used as it is; names the variable, never the value.</summary>
    internal static string UnusableSecret(string variable, string what) =>
        $"environment variable {variable} holds a line break, tab or other non-printable or non-ASCII character inside {what}; "
        + "white space around it is ignored, so fix the value (e.g. a secret file with two lines)";

    private static void ValidateTenantId(string id, int index, string prefix, Dictionary<string, int> seen, ConfigDiagnostics diagnostics)
    {
        if (id.Length == 0)
        {
            return; // reported by the binder as required
        }

        if (id == "default")
        {
            diagnostics.Error(prefix + ".id",
                "'default' is reserved for the top-level section; put default's tokens, api_keys and model_rules at the top level, or pick another id");
        }
        else if (!Tenancy.TenantIds.IsValid(id))
        {
            diagnostics.Error(prefix + ".id", $"'{id}' is not a valid tenant id; {Tenancy.TenantIds.Rule}");
        }
        else if (!seen.TryAdd(id, index))
        {
            diagnostics.Error(prefix + ".id", $"'{id}' is already the id of tenants[{seen[id]}]; tenant ids must be unique");
        }
    }

    private static void ValidateCluster(ClusterConfig cluster, ConfigDiagnostics diagnostics)
    {
        if (cluster.SiloPort == cluster.GatewayPort)
        {
            // Point at the value set last: an environment override, else gateway_port if it was written.
            var siloFromEnv = diagnostics.LocationOf("cluster.silo_port").StartsWith("env ", StringComparison.Ordinal);
            var gatewayFromEnv = diagnostics.LocationOf("cluster.gateway_port").StartsWith("env ", StringComparison.Ordinal);
            var blame = (siloFromEnv && !gatewayFromEnv) || !diagnostics.WasWritten("cluster.gateway_port")
                ? "cluster.silo_port"
                : "cluster.gateway_port";
            diagnostics.Error(blame,
                $"silo_port and gateway_port are both {cluster.SiloPort}; they must differ");
        }

        var dashboard = cluster.Dashboard;
        if (!Grains.Hosting.Dashboard.RoxyDashboardOptions.IsHost(dashboard.Host))
        {
            diagnostics.Error("cluster.dashboard.host", $"'{dashboard.Host}' is not an IP address; use 127.0.0.1 (default), another IP address or 0.0.0.0");
        }

        if (dashboard.Enabled && (dashboard.Port == cluster.SiloPort || dashboard.Port == cluster.GatewayPort))
        {
            diagnostics.Error("cluster.dashboard.port", $"{dashboard.Port} is already the silo or gateway port; pick another port");
        }

        if (string.IsNullOrWhiteSpace(cluster.ClusterId))
        {
            diagnostics.Error("cluster.cluster_id", "must not be empty; e.g. roxy");
        }

        if (string.IsNullOrWhiteSpace(cluster.ServiceId))
        {
            diagnostics.Error("cluster.service_id", "must not be empty; e.g. roxy");
        }

        if (cluster.AdvertiseAddress is { } address && string.IsNullOrWhiteSpace(address))
        {
            diagnostics.Error("cluster.advertise_address", "must not be blank; leave it out to use the machine's address");
        }
        else if (cluster.AdvertiseAddress is { } text && !Grains.Hosting.RoxyClusterOptions.TryParseAdvertiseAddress(text, out _))
        {
            diagnostics.Error("cluster.advertise_address", $"'{text}' is not an IP address; use an IP address or auto (the machine's first non-loopback IPv4 address)");
        }
    }

    /// <summary>" (did you mean 'x'?)" when <paramref name="name"/> is a near miss of a known provider, else "".</summary>
    private static string Suggest(string name, IEnumerable<string> known)
    {
        var best = known
            .Select(k => (Name: k, Distance: EditDistance(name.ToLowerInvariant(), k)))
            .Where(k => k.Distance > 0 || name != k.Name)
            .MinBy(k => k.Distance);
        var limit = name.Length <= 4 ? 1 : 2;
        return best.Name is not null && best.Distance <= limit ? $" (did you mean '{best.Name}'?)" : "";
    }

    private static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            previous = current;
        }

        return previous[b.Length];
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,62}$")]
    private static partial Regex ProviderNamePattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvVarNamePattern();

    [GeneratedRegex("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")]
    private static partial Regex HeaderNamePattern();
}
