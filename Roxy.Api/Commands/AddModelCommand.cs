using Roxy.Api.Administration;
using Roxy.Api.Routing;
using Roxy.Grains.Routing;

namespace Roxy.Api.Commands;

public sealed class AddModelCommand(RuleAdministration rules, ModelResolver resolver) : IRoxyCommand
{
    public string Name => "add model";
    public string Syntax => "#roxy add model <source> <target> [policy]";
    public string Summary => $"Adds a target (`[provider:]model`) to the rule for a model, creating it with policy fallback; policy: {ModelRuleArgs.Policies}.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        var words = args.Positional;
        if (words.Any(ModelRuleArgs.LooksLikeKey))
        {
            return CommandReply.Error("That looks like a provider key, not a model name; it was not stored. Keys go in with `#roxy add key <provider> <key>`.", Syntax);
        }

        if (words.Count is < 2 or > 3 || args.OptionNames.Any())
        {
            return CommandReply.Error("Give the source model, one target and optionally a policy.", Syntax);
        }

        var (source, target) = (words[0], words[1]);
        var result = await rules.AddTargetAsync(context.Actor, context.Identity.TenantId, source, target, words.Count == 3 ? words[2] : null);
        var rule = result.Rule;
        return result.Outcome switch
        {
            RuleOutcome.Done => CommandReply.Ok(
                $"✅ {Markdown.Code(source)} → {await DescribeAsync(context, rule!)} (policy {ModelRuleArgs.Name(rule!.Policy)}). Every Roxy frontend uses it within a second."),
            RuleOutcome.Unchanged => CommandReply.Ok(
                $"ℹ️ The rule for {Markdown.Code(source)} already sends to {Markdown.Code(target)} with policy {ModelRuleArgs.Name(rule!.Policy)}; nothing changed."),
            RuleOutcome.Invalid => CommandReply.Error(result.Problem!, Syntax),
            RuleOutcome.ConfigOwned => CommandReply.Error(
                $"The rule for {Markdown.Code(source)} comes from the configuration file: the YAML owns it, so chat cannot change it. Change it under `model_rules` in the config."),
            RuleOutcome.EmbeddingModelsDiffer => CommandReply.Error(
                $"{Markdown.Code(source)} is an embedding rule (a model name contains \"embed\") and already sends to {ModelRuleArgs.Targets(rule!)}: " +
                "vectors of different embedding models cannot be compared, so its targets may differ only in provider, not in model."),
            RuleOutcome.TenantNotFound => CommandReply.TenantGone,
            _ => CommandReply.Error("The rule could not be changed."),
        };
    }

    /// <summary>Each target as it will be called: bare targets with the provider inferred for them now.</summary>
    private async Task<string> DescribeAsync(CommandContext context, ModelRule rule)
    {
        var snapshot = await context.Tenant.GetSnapshotAsync();
        return string.Join(", ", rule.Targets.Select(t => t.Provider is not null
            ? Markdown.Code(ModelRuleArgs.Show(t))
            : $"{Markdown.Code(t.Model)} ({(resolver.InferProvider(snapshot, t.Model) is { } inferred ? $"{inferred}, inferred" : "no provider with keys yet")})"));
    }
}
