using System.Collections.Concurrent;
using Roxy.Api.Errors;
using Roxy.Api.Providers;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Routing;

/// <summary>
/// Turns a requested model into targets from the tenant's snapshot alone: an unknown model costs no grain call
/// and no PostgreSQL read.
/// </summary>
public sealed class ModelResolver(ProviderRegistry providers)
{
    // Per tenant and rule: one tenant's traffic must neither disturb nor reveal another's alternation.
    private readonly ConcurrentDictionary<(string Tenant, string Source), int> _roundRobin = new();

    public ProxyError? Resolve(TenantSnapshot tenant, string model, out ResolvedRoute route)
    {
        route = null!;
        var rule = FindRule(tenant, model);
        if (rule is not null)
        {
            var targets = new List<RouteTarget>(rule.Targets.Count);
            foreach (var target in rule.Targets)
            {
                var provider = target.Provider ?? InferProvider(tenant, target.Model);
                if (provider is not null)
                {
                    targets.Add(new RouteTarget(provider, target.Model));
                }
            }

            if (targets.Count == 0)
            {
                return ProxyError.ModelNotFound(model);
            }

            route = new ResolvedRoute(model, rule.SourceModel, Order(tenant.TenantId, rule, targets));
            return null;
        }

        if (!tenant.AllowUnlisted && !IsListedTarget(tenant, model))
        {
            return ProxyError.ModelNotFound(model);
        }

        var (explicitProvider, bareModel) = SplitProvider(model);
        var inferred = explicitProvider ?? InferProvider(tenant, bareModel);
        if (inferred is null)
        {
            return ProxyError.ModelNotFound(model);
        }

        route = new ResolvedRoute(model, null, [new RouteTarget(inferred, bareModel)]);
        return null;
    }

    /// <summary>What this tenant may ask for: rule sources and the targets its rules name.</summary>
    public IReadOnlyList<(string Id, string OwnedBy)> ListModels(TenantSnapshot tenant)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var models = new List<(string, string)>();
        foreach (var rule in tenant.ModelRules)
        {
            if (seen.Add(rule.SourceModel))
            {
                models.Add((rule.SourceModel, "roxy"));
            }
        }

        foreach (var rule in tenant.ModelRules)
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

    /// <summary>SPEC §3: by name prefix, otherwise the first configured provider this tenant has keys for.</summary>
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

    private static ModelRule? FindRule(TenantSnapshot tenant, string model)
    {
        foreach (var rule in tenant.ModelRules)
        {
            if (rule.SourceModel == model)
            {
                return rule;
            }
        }

        return null;
    }

    private static bool IsListedTarget(TenantSnapshot tenant, string model)
    {
        foreach (var rule in tenant.ModelRules)
        {
            foreach (var target in rule.Targets)
            {
                if (target.Model == model || (target.Provider is not null && model == $"{target.Provider}:{target.Model}"))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private List<RouteTarget> Order(string tenantId, ModelRule rule, List<RouteTarget> targets)
    {
        if (targets.Count < 2 || rule.Policy == SelectionPolicy.Fallback)
        {
            return targets;
        }

        var first = rule.Policy == SelectionPolicy.RoundRobin
            ? (int)((uint)_roundRobin.AddOrUpdate((tenantId, rule.SourceModel), 0, (_, n) => n + 1) % (uint)targets.Count)
            : Random.Shared.Next(targets.Count);
        // The policy picks the first choice; the rest follow in order, so failover still reaches every target.
        var ordered = new List<RouteTarget>(targets.Count);
        for (var i = 0; i < targets.Count; i++)
        {
            ordered.Add(targets[(first + i) % targets.Count]);
        }

        return ordered;
    }
}
