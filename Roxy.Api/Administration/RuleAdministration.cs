using Roxy.Api.Commands;
using Roxy.Api.Providers;
using Roxy.Api.Routing;
using Roxy.Api.Tenancy;
using Roxy.Grains;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Administration;

/// <summary>
/// A tenant's model rules: list, add a target, remove a target or the rule, put (create or replace) a whole rule.
/// <c>#roxy … model</c> commands and the <c>/admin/tenants/{tenant}/rules</c> routes both call these: the words are
/// checked the way the config checks <c>model_rules</c>, and every change is audited with the actor's channel.
/// </summary>
public sealed class RuleAdministration(ProviderRegistry providers, RuleCache rules, IGrainFactory grains, TenantSnapshotCache tenants, TimeProvider time)
{
    /// <summary>More targets than any rule needs; a bound so one request cannot make a huge rule.</summary>
    public const int MaxTargets = 32;

    private readonly IReadOnlySet<string> _known = ModelRuleArgs.KnownProviders(providers);

    public async Task<RuleListing> ListAsync(string tenantId)
    {
        var snapshot = await Tenant(tenantId).GetSnapshotAsync();
        return new RuleListing(await rules.GetAllAsync(snapshot), snapshot.AllowUnlisted);
    }

    /// <summary>Adds <paramref name="target"/> to the source's rule, creating it (policy fallback unless given).</summary>
    public async Task<RuleResult> AddTargetAsync(AdminActor actor, string tenantId, string source, string target, string? policy)
    {
        if (Check(source, [target], policy, out var parsedTargets, out var parsedPolicy) is { } invalid)
        {
            return invalid;
        }

        var action = $"add model {source} {ModelRuleArgs.Show(parsedTargets[0])}" + (parsedPolicy is { } p ? $" {ModelRuleArgs.Name(p)}" : "");
        var result = await Tenant(tenantId).AddRuleTargetAsync(source, parsedTargets[0], parsedPolicy, actor.Audit(time, action));
        return await DoneAsync(tenantId, result, created: false);
    }

    /// <summary>Removes one target (the whole rule with its last one), or the whole rule when <paramref name="target"/> is null.</summary>
    public async Task<RuleResult> RemoveAsync(AdminActor actor, string tenantId, string source, string? target)
    {
        if (Check(source, target is null ? [] : [target], null, out var parsedTargets, out _, allowNoTargets: true) is { } invalid)
        {
            return invalid;
        }

        var parsed = parsedTargets.FirstOrDefault();
        var action = $"remove model {source}" + (parsed is null ? "" : $" {ModelRuleArgs.Show(parsed)}");
        var result = await Tenant(tenantId).RemoveRuleAsync(source, parsed, actor.Audit(time, action));
        return await DoneAsync(tenantId, result, created: false);
    }

    /// <summary>Creates or replaces the source's runtime rule with exactly these targets and policy (default fallback).</summary>
    public async Task<RuleResult> PutAsync(AdminActor actor, string tenantId, string source, IReadOnlyList<string> targets, string? policy, bool failoverOnContextLength)
    {
        if (Check(source, targets, policy, out var parsedTargets, out var parsedPolicy) is { } invalid)
        {
            return invalid;
        }

        var tenant = Tenant(tenantId);
        var existed = (await tenant.GetSnapshotAsync()).Rules.Any(r => r.SourceModel == source);
        var rule = new ModelRule(source, parsedTargets, parsedPolicy ?? SelectionPolicy.Fallback, failoverOnContextLength, Owner.Runtime);
        var action = $"put model {source} {string.Join(",", parsedTargets.Select(ModelRuleArgs.Show))} {ModelRuleArgs.Name(rule.Policy)}"
            + (failoverOnContextLength ? " failover_on_context_length" : "");
        var result = await tenant.SetRuleAsync(rule, actor.Audit(time, action));
        return await DoneAsync(tenantId, result, created: !existed);
    }

    private RuleResult? Check(
        string source, IReadOnlyList<string> targets, string? policy, out RuleTarget[] parsedTargets, out SelectionPolicy? parsedPolicy, bool allowNoTargets = false)
    {
        parsedTargets = [];
        parsedPolicy = null;
        if (ModelRuleArgs.LooksLikeKey(source) || targets.Any(ModelRuleArgs.LooksLikeKey) || (policy is not null && ModelRuleArgs.LooksLikeKey(policy)))
        {
            return RuleResult.Invalid("That looks like a provider key, not a model name; it was not stored. Keys go in with `#roxy add key <provider> <key>` or POST …/keys.", "targets");
        }

        if ((source.Length == 0 ? "Give the source model." : ModelRuleArgs.SourceProblem(source)) is { } badSource)
        {
            return RuleResult.Invalid(badSource, "source");
        }

        if (targets.Count == 0 && !allowNoTargets)
        {
            return RuleResult.Invalid("A rule needs at least one target (`[provider:]model`).", "targets");
        }

        if (targets.Count > MaxTargets)
        {
            return RuleResult.Invalid($"A rule may have at most {MaxTargets} targets.", "targets");
        }

        var parsed = new List<RuleTarget>(targets.Count);
        foreach (var text in targets)
        {
            if (ModelRuleArgs.TargetProblem(text, _known, out var target) is { } bad)
            {
                return RuleResult.Invalid(bad, "targets");
            }

            if (parsed.Contains(target))
            {
                return RuleResult.Invalid($"The target {Markdown.Code(ModelRuleArgs.Show(target))} is listed twice.", "targets");
            }

            parsed.Add(target);
        }

        if (policy is not null)
        {
            if (!ModelRuleArgs.TryPolicy(policy, out var p))
            {
                var shown = Proxy.ChatRequestReader.IsModelName(policy) && policy.Length is > 0 and <= 32 ? $"{Markdown.Code(policy)} " : "";
                return RuleResult.Invalid($"The policy {shown}is not one of {ModelRuleArgs.Policies}.", "policy");
            }

            parsedPolicy = p;
        }

        parsedTargets = [.. parsed];
        return null;
    }

    private async Task<RuleResult> DoneAsync(string tenantId, RuleChangeResult result, bool created)
    {
        var outcome = result.Status switch
        {
            RuleChangeStatus.Done => RuleOutcome.Done,
            RuleChangeStatus.Unchanged => RuleOutcome.Unchanged,
            RuleChangeStatus.ConfigOwned => RuleOutcome.ConfigOwned,
            RuleChangeStatus.TargetNotFound => RuleOutcome.TargetNotFound,
            RuleChangeStatus.EmbeddingModelsDiffer => RuleOutcome.EmbeddingModelsDiffer,
            RuleChangeStatus.TenantNotFound => RuleOutcome.TenantNotFound,
            _ => RuleOutcome.NotFound,
        };
        if (outcome == RuleOutcome.Done)
        {
            // This frontend routes by the change from the next request on; the others within a second.
            await tenants.ReloadAsync(tenantId);
        }

        return new RuleResult(outcome, result.Rule, created && outcome == RuleOutcome.Done);
    }

    private ITenantGrain Tenant(string tenantId) => grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId));
}
