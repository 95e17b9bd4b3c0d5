using Roxy.Grains.Routing;

namespace Roxy.Api.Administration;

public enum RuleOutcome
{
    Done,

    /// <summary>The rule already says that; nothing was written or audited.</summary>
    Unchanged,

    /// <summary>A word is not a valid source, target or policy, or looks like a provider key; <see cref="RuleResult.Problem"/> says which.</summary>
    Invalid,
    NotFound,
    TargetNotFound,

    /// <summary>The YAML owns the rule: neither chat nor the API may change it.</summary>
    ConfigOwned,

    /// <summary>An embedding rule whose targets would name different models.</summary>
    EmbeddingModelsDiffer,

    /// <summary>The tenant does not exist (any more): deleted while the request was on its way.</summary>
    TenantNotFound,
}

/// <summary>
/// What a rule operation did. <see cref="Rule"/> is the rule as it now stands (null once removed); <see cref="Created"/>
/// tells a new rule from a replaced one; <see cref="Problem"/> and <see cref="Param"/> (source, targets, policy) explain
/// <see cref="RuleOutcome.Invalid"/>.
/// </summary>
public sealed record RuleResult(RuleOutcome Outcome, ModelRule? Rule = null, bool Created = false, string? Problem = null, string? Param = null)
{
    public static RuleResult Invalid(string problem, string param) => new(RuleOutcome.Invalid, Problem: problem, Param: param);
}
