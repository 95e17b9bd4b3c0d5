using Roxy.Api.Errors;
using Roxy.Api.Providers;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Routing;

/// <summary>
/// Turns a requested model into targets, from the tenant's snapshot and the rules this frontend holds
/// (<see cref="RuleCache"/>). Warm, it is synchronous and allocation-free for a rule: the routes are compiled once per
/// rule and snapshot. A model no rule names costs no grain call and no PostgreSQL read.
/// </summary>
public sealed class ModelResolver(ProviderRegistry providers, RuleCache rules)
{
    /// <summary>
    /// Resolves from memory; false when the model names a rule this frontend has not read yet (or, for a tenant without
    /// unlisted models, any rule is unread): then <see cref="ResolveColdAsync"/>, which reads it.
    /// </summary>
    public bool TryResolve(TenantSnapshot tenant, string model, out ResolvedRoute? route, out ProxyError? error)
    {
        route = null;
        error = null;
        if (!rules.TryGet(tenant, model, out var cached))
        {
            return false;
        }

        if (cached?.Rule is not null)
        {
            error = RouteByRule(tenant, cached, out route);
            return true;
        }

        if (!tenant.AllowUnlisted)
        {
            if (rules.IsListedTarget(tenant, model) is not { } listed)
            {
                return false;
            }

            if (!listed)
            {
                error = ProxyError.ModelNotFound(model);
                return true;
            }
        }

        error = RouteUnlisted(tenant, model, out route);
        return true;
    }

    /// <summary>The same decision as <see cref="TryResolve"/>, reading what it needs from the rule grains first.</summary>
    public async Task<(ResolvedRoute? Route, ProxyError? Error)> ResolveColdAsync(TenantSnapshot tenant, string model)
    {
        var cached = await rules.LoadAsync(tenant, model);
        ResolvedRoute? route;
        if (cached?.Rule is not null)
        {
            return (RouteByRule(tenant, cached, out route) is { } error ? (null, error) : (route, null));
        }

        if (!tenant.AllowUnlisted && !(await rules.GetAllAsync(tenant)).Any(r => RuleCache.Names(r, model)))
        {
            return (null, ProxyError.ModelNotFound(model));
        }

        return RouteUnlisted(tenant, model, out route) is { } unlisted ? (null, unlisted) : (route, null);
    }

    /// <summary>What this tenant may ask for: rule sources and the targets its rules name.</summary>
    public IReadOnlyList<(string Id, string OwnedBy)> ListModels(TenantSnapshot tenant, IReadOnlyList<ModelRule> tenantRules)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var models = new List<(string, string)>();
        foreach (var rule in tenantRules)
        {
            if (seen.Add(rule.SourceModel))
            {
                models.Add((rule.SourceModel, "roxy"));
            }
        }

        foreach (var rule in tenantRules)
        {
            foreach (var target in rule.Targets)
            {
                var id = target.Provider is null ? target.Model : $"{target.Provider}:{target.Model}";
                if (seen.Add(id))
                {
                    models.Add((id, target.Provider ?? InferProvider(tenant, target.Model) ?? "unknown"));
                }
            }
        }

        return models;
    }

    public (string? Provider, string Model) SplitProvider(string model)
    {
        var colon = model.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && providers.IsKnown(model[..colon]))
        {
            return (model[..colon], model[(colon + 1)..]);
        }

        return (null, model);
    }

    /// <summary>By name prefix (README "Configuration"), otherwise the first configured provider this tenant has keys for.</summary>
    public string? InferProvider(TenantSnapshot tenant, string model)
    {
        if (model.StartsWith("gpt-", StringComparison.Ordinal) || model.StartsWith("o1", StringComparison.Ordinal)
            || model.StartsWith("o3", StringComparison.Ordinal) || model.StartsWith("o4", StringComparison.Ordinal)
            || model.StartsWith("text-embedding-", StringComparison.Ordinal) || model.StartsWith("chatgpt-", StringComparison.Ordinal))
        {
            return "openai";
        }

        if (model.StartsWith("claude-", StringComparison.Ordinal))
        {
            return "anthropic";
        }

        foreach (var provider in providers.All)
        {
            foreach (var key in tenant.Keys)
            {
                if (key.Provider == provider.Name && key.Enabled)
                {
                    return provider.Name;
                }
            }
        }

        return null;
    }

    private ProxyError? RouteByRule(TenantSnapshot tenant, CachedRule cached, out ResolvedRoute? route)
    {
        var rule = cached.Rule!;
        var routes = cached.Routes;
        if (routes is null || routes.TenantVersion != tenant.Version)
        {
            cached.Routes = routes = Compile(tenant, rule);
        }

        var rotations = routes.Rotations;
        if (rotations.Length == 0)
        {
            route = null;
            return ProxyError.ModelNotFound(rule.SourceModel);
        }

        // The policy picks the first choice; the rest follow in order, so failover still reaches every target.
        route = rule.Policy switch
        {
            SelectionPolicy.RoundRobin => rotations[(int)(cached.NextTurn() % (uint)rotations.Length)],
            SelectionPolicy.Random => rotations[Random.Shared.Next(rotations.Length)],
            _ => rotations[0],
        };
        return null;
    }

    private RuleRoutes Compile(TenantSnapshot tenant, ModelRule rule)
    {
        var targets = new List<RouteTarget>(rule.Targets.Count);
        foreach (var target in rule.Targets)
        {
            if ((target.Provider ?? InferProvider(tenant, target.Model)) is { } provider)
            {
                targets.Add(new RouteTarget(provider, target.Model));
            }
        }

        var count = rule.Policy == SelectionPolicy.Fallback ? Math.Min(targets.Count, 1) : targets.Count;
        var fingerprint = RuleFingerprint.Of(rule);
        var resolved = new System.Text.StringBuilder(fingerprint);
        foreach (var target in targets)
        {
            resolved.Append('|').Append(target.Provider).Append(':').Append(target.Model);
        }

        var keyFingerprint = resolved.ToString();
        var rotations = new ResolvedRoute[count];
        for (var first = 0; first < count; first++)
        {
            var ordered = new RouteTarget[targets.Count];
            for (var i = 0; i < ordered.Length; i++)
            {
                ordered[i] = targets[(first + i) % targets.Count];
            }

            rotations[first] = new ResolvedRoute(rule.SourceModel, rule.SourceModel, ordered, rule.FailoverOnContextLength) { Fingerprint = fingerprint, KeyFingerprint = keyFingerprint };
        }

        return new RuleRoutes(tenant.Version, rotations);
    }

    private ProxyError? RouteUnlisted(TenantSnapshot tenant, string model, out ResolvedRoute? route)
    {
        route = null;
        var (explicitProvider, bareModel) = SplitProvider(model);
        var inferred = explicitProvider ?? InferProvider(tenant, bareModel);
        if (inferred is null)
        {
            return ProxyError.ModelNotFound(model);
        }

        route = new ResolvedRoute(model, null, [new RouteTarget(inferred, bareModel)]);
        return null;
    }
}
