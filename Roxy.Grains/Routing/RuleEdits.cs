using Roxy.Grains.Tenancy;

namespace Roxy.Grains.Routing;

/// <summary>What a chat or API change makes of a rule, decided without Orleans so it can be tested on its own.</summary>
public static class RuleEdits
{
    /// <summary>
    /// Adds <paramref name="target"/> to the rule (a new runtime rule with policy fallback when there is none); a given
    /// policy replaces the rule's. <paramref name="next"/> is the rule to store when the status is Done.
    /// </summary>
    public static RuleChangeStatus AddTarget(ModelRule? current, string sourceModel, RuleTarget target, SelectionPolicy? policy, out ModelRule? next)
    {
        next = current;
        if (current?.Owner == Owner.Config)
        {
            return RuleChangeStatus.ConfigOwned;
        }

        ModelRule candidate;
        if (current is null)
        {
            candidate = new ModelRule(sourceModel, [target], policy ?? SelectionPolicy.Fallback, false, Owner.Runtime);
        }
        else if (current.Targets.Contains(target))
        {
            if (policy is null || policy == current.Policy)
            {
                return RuleChangeStatus.Unchanged;
            }

            candidate = current with { Policy = policy.Value };
        }
        else
        {
            candidate = current with { Targets = [.. current.Targets, target], Policy = policy ?? current.Policy };
        }

        if (EmbeddingModels.Mixed(candidate).Count > 0)
        {
            return RuleChangeStatus.EmbeddingModelsDiffer;
        }

        next = candidate;
        return RuleChangeStatus.Done;
    }

    /// <summary>Removes one target, or the whole rule when <paramref name="target"/> is null or was its last target (then <paramref name="next"/> is null).</summary>
    public static RuleChangeStatus RemoveTarget(ModelRule? current, RuleTarget? target, out ModelRule? next)
    {
        next = current;
        if (current is null)
        {
            return RuleChangeStatus.NotFound;
        }

        if (current.Owner == Owner.Config)
        {
            return RuleChangeStatus.ConfigOwned;
        }

        if (target is null)
        {
            next = null;
            return RuleChangeStatus.Done;
        }

        if (!current.Targets.Contains(target))
        {
            return RuleChangeStatus.TargetNotFound;
        }

        var rest = current.Targets.Where(t => t != target).ToArray();
        next = rest.Length == 0 ? null : current with { Targets = rest };
        return RuleChangeStatus.Done;
    }
}
