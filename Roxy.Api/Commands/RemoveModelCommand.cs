using Roxy.Api.Administration;

namespace Roxy.Api.Commands;

public sealed class RemoveModelCommand(RuleAdministration rules) : IRoxyCommand
{
    public string Name => "remove model";
    public string Syntax => "#roxy remove model <source> [target]";
    public string Summary => "Removes one target of a rule added at run time, or the whole rule (config rules: change them in the YAML).";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        var words = args.Positional;
        if (words.Any(ModelRuleArgs.LooksLikeKey))
        {
            return CommandReply.Error("That looks like a provider key, not a model name; it is not shown here. `#roxy list models` shows the rules.", Syntax);
        }

        if (words.Count is < 1 or > 2 || args.OptionNames.Any())
        {
            return CommandReply.Error("Give the source model and optionally one of its targets.", Syntax);
        }

        var (source, target) = (words[0], words.Count == 2 ? words[1] : null);
        var result = await rules.RemoveAsync(context.Actor, context.Identity.TenantId, source, target);
        return result.Outcome switch
        {
            RuleOutcome.Done when result.Rule is null => CommandReply.Ok(
                $"🗑️ Removed the rule for {Markdown.Code(source)}. Every Roxy frontend stops using it within a second."),
            RuleOutcome.Done => CommandReply.Ok(
                $"🗑️ Removed {Markdown.Code(target!)} from the rule for {Markdown.Code(source)}; it now sends to {ModelRuleArgs.Targets(result.Rule)}."),
            RuleOutcome.Invalid => CommandReply.Error(result.Problem!, Syntax),
            RuleOutcome.ConfigOwned => CommandReply.Error(
                $"The rule for {Markdown.Code(source)} comes from the configuration file: the YAML owns it, so chat cannot remove it. Remove it from `model_rules` in the config."),
            RuleOutcome.TargetNotFound => CommandReply.Error(
                $"The rule for {Markdown.Code(source)} has no target {Markdown.Code(target!)}; its targets: {ModelRuleArgs.Targets(result.Rule!)}."),
            RuleOutcome.TenantNotFound => CommandReply.TenantGone,
            _ => CommandReply.Error($"This tenant has no rule for {Markdown.Code(source)}. `#roxy list models` shows the rules.", Syntax),
        };
    }
}
