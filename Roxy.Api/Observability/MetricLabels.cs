using System.Collections.Frozen;
using Roxy.Api.Configuration;
using Roxy.Api.Pricing;
using Roxy.Api.Providers;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Observability;

/// <summary>
/// The closed sets every metric label is drawn from, built once at start-up: a label value is always one of these
/// cached strings (no string is built per request), and nothing a client sends can add one. Models: those the config
/// names (rules, their targets, probe models) and the price table's, read at start-up; anything else is
/// <see cref="Other"/>, a rule made at run time included (<c>#roxy add model</c>, <c>PUT …/rules/{source}</c>: a tenant
/// admin's free text, so its name and targets are labelled only when already known). Tenants: only a tenant a token of
/// the directory opens.
/// </summary>
public sealed class MetricLabels
{
    /// <summary>The OpenTelemetry conventions' value for "none of the known ones".</summary>
    public const string Other = "_OTHER";

    public const string Chat = "chat";
    public const string Embeddings = "embeddings";

    private const int MaxStatus = 599;

    // Boxed once: a status code in a TagList is an object, and boxing it per request would allocate.
    private static readonly object[] StatusCodes = [.. Enumerable.Range(0, MaxStatus + 1).Select(static s => (object)s)];
    private static readonly string[] StatusTexts = [.. Enumerable.Range(0, MaxStatus + 1).Select(static s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>
    /// The error codes Roxy itself answers with (<see cref="Errors.ProxyError"/>). A code a provider sent and Roxy passed
    /// on is not among them and is reported by its status instead.
    /// </summary>
    private static readonly FrozenSet<string> RoxyErrorCodes = new[]
    {
        "invalid_request_error", "invalid_api_key", "model_not_found", "model_not_supported", "request_too_large",
        "invalid_token_estimate", "context_length_exceeded", "unknown_url", "method_not_allowed", "budget_exceeded",
        "rate_limit_exceeded", "no_available_keys", "cluster_unavailable", "internal_error", "provider_not_supported",
        "upstream_error", "upstream_timeout", "upstream_unreachable", "upstream_overloaded", "upstream_quota_exhausted",
        "upstream_auth_failed", "upstream_malformed", "upstream_empty", "cancelled",
    }.ToFrozenSet(StringComparer.Ordinal);

    private readonly FrozenSet<string> _models;
    private readonly FrozenDictionary<string, string> _providers;

    public MetricLabels(ResolvedConfig config, ModelPrices prices)
    {
        var providerNames = config.Providers.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var models = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var tenant in config.Tenants)
        {
            foreach (var rule in tenant.ModelRules)
            {
                models.Add(rule.SourceModel);
                foreach (var target in rule.Targets)
                {
                    models.Add(target.Model);
                }
            }
        }

        foreach (var provider in config.Providers)
        {
            if (provider.ProbeModel is { Length: > 0 } probe)
            {
                models.Add(probe);
            }
        }

        foreach (var key in prices.Entries.Keys)
        {
            // Price keys are "provider:model" or a bare model; the label is the model as a client or provider names it.
            var colon = key.IndexOf(':', StringComparison.Ordinal);
            models.Add(colon > 0 && providerNames.Contains(key[..colon]) ? key[(colon + 1)..] : key);
        }

        _models = models.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _providers = config.Providers.ToFrozenDictionary(p => p.Name, p => SemanticProviderName(p.Name), StringComparer.Ordinal);
        ProviderIds = config.Providers.ToFrozenDictionary(p => p.Name, p => p.Name, StringComparer.Ordinal);
    }

    /// <summary>Each configured provider's id, the instance labels use (the key's copy may be another instance).</summary>
    private FrozenDictionary<string, string> ProviderIds { get; }

    /// <summary>Every model label value but <see cref="Other"/>, for tests and the README.</summary>
    public IReadOnlySet<string> Models => _models;

    /// <summary>A model as a label: its known spelling, or <see cref="Other"/>.</summary>
    public string Model(string? model) => model is not null && _models.TryGetValue(model, out var known) ? known : Other;

    /// <summary>The model the client asked for: the matched rule's name, else the model as named; known, or <see cref="Other"/>.</summary>
    public string RequestModel(ProxyRequest request) => Model(request.Route?.RuleSource ?? request.Model);

    /// <summary>The model a target sends to its provider, known or <see cref="Other"/>, whoever made the rule.</summary>
    public string TargetModel(RouteTarget target) => Model(target.Model);

    /// <summary><c>gen_ai.provider.name</c>: the conventions' spelling for the providers it knows, else Roxy's provider id.</summary>
    public string GenAiProvider(string provider) => _providers.GetValueOrDefault(provider, Other);

    /// <summary>Roxy's provider id, as configured; <see cref="Other"/> for a name the config does not have.</summary>
    public string Provider(string provider) => ProviderIds.GetValueOrDefault(provider, Other);

    /// <summary>
    /// A tenant as a label. A <see cref="Tenancy.TenantIdentity"/> comes only from the token directory, so its tenant
    /// exists (configured or created at run time); a request without one is <see cref="Other"/>.
    /// </summary>
    public static string Tenant(string? tenantId) => tenantId ?? Other;

    public static string Operation(UpstreamOperation operation) => operation == UpstreamOperation.Embeddings ? Embeddings : Chat;

    public static object Status(int status) => (uint)status <= MaxStatus ? StatusCodes[status] : Other;

    /// <summary><c>hit</c>, <c>miss</c> or <c>bypass</c> as the constant strings.</summary>
    public static string Cache(string result) => result switch
    {
        "hit" => "hit",
        "miss" => "miss",
        _ => "bypass",
    };

    /// <summary>
    /// What an upstream attempt's failure was, as SPEC §5 names the signals; null when it succeeded. Also the attempt's
    /// <c>error.type</c>, where a client that left (<c>cancelled</c>) is not the provider's fault.
    /// </summary>
    public static string? Signal(AttemptResult result) => result.Outcome switch
    {
        UpstreamOutcome.Success => null,
        UpstreamOutcome.RateLimited => "rate_limited",
        UpstreamOutcome.QuotaExhausted => "quota_exhausted",
        UpstreamOutcome.AuthFailed => "auth_failed",
        UpstreamOutcome.ProviderOverloaded => "overloaded",
        UpstreamOutcome.CallerError => "caller_error",
        UpstreamOutcome.Cancelled => "cancelled",
        _ => result.Error?.Code switch
        {
            "upstream_timeout" => "timeout",
            "upstream_unreachable" => "unreachable",
            "upstream_malformed" or "upstream_empty" => "malformed",
            _ => "server_error",
        },
    };

    /// <summary>
    /// The client-facing <c>error.type</c>: Roxy's own error code, or the status of an error the provider's answer
    /// carried (a pass-through 400); null for a success.
    /// </summary>
    public static string? ServerError(Errors.ProxyError? error, int status)
    {
        if (error is not null)
        {
            return RoxyErrorCodes.TryGetValue(error.Code, out var code) ? code : StatusText(error.Status);
        }

        return status >= 400 ? StatusText(status) : null;
    }

    private static string StatusText(int status) => (uint)status <= MaxStatus ? StatusTexts[status] : Other;

    // The well-known values of gen_ai.provider.name; other providers (openrouter, a local server) keep Roxy's id,
    // as the conventions allow for a provider they do not list.
    private static string SemanticProviderName(string id) => id.ToLowerInvariant() switch
    {
        "openai" => "openai",
        "anthropic" => "anthropic",
        "azure" or "azure_openai" or "azure-openai" => "azure.ai.openai",
        "bedrock" or "aws" or "aws_bedrock" => "aws.bedrock",
        "gemini" or "google" => "gcp.gemini",
        "vertex" or "vertex_ai" or "vertexai" => "gcp.vertex_ai",
        "mistral" or "mistral_ai" or "mistralai" => "mistral_ai",
        "xai" or "x_ai" or "grok" => "x_ai",
        "deepseek" => "deepseek",
        "groq" => "groq",
        "cohere" => "cohere",
        "perplexity" => "perplexity",
        "watsonx" => "ibm.watsonx.ai",
        _ => id,
    };
}
