using Roxy.Api.Commands;
using Roxy.Grains.Routing;

namespace Roxy.Api.Apis.Admin;

/// <summary>One model rule: <c>owner</c> is config (the YAML owns it: 409 on change) or runtime (chat or this API).</summary>
public sealed record RuleView(string Source, IReadOnlyList<string> Targets, string Policy, string Owner, bool FailoverOnContextLength)
{
    public static RuleView Example { get; } = new("smart", ["openai:gpt-4o-mini", "openrouter:openai/gpt-4o-mini"], "fallback", "runtime", false);

    public static RuleView From(ModelRule rule) => new(
        rule.SourceModel, [.. rule.Targets.Select(ModelRuleArgs.Show)], ModelRuleArgs.Name(rule.Policy),
        rule.Owner == Grains.Tenancy.Owner.Config ? "config" : "runtime", rule.FailoverOnContextLength);
}
