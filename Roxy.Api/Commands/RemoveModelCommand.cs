using Roxy.Api.Providers;
using Roxy.Grains.Routing;

namespace Roxy.Api.Commands;

public sealed class RemoveModelCommand(ProviderRegistry providers) : IRoxyCommand
{
    private readonly IReadOnlySet<string> _known = ModelRuleArgs.KnownProviders(providers);

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

        var source = words[0];
        if (ModelRuleArgs.SourceProblem(source) is { } badSource)
        {
            return CommandReply.Error(badSource, Syntax);
        }

        RuleTarget? target = null;
        if (words.Count == 2)
        {
            if (ModelRuleArgs.TargetProblem(words[1], _known, out var parsed) is { } badTarget)
            {
                return CommandReply.Error(badTarget, Syntax);
            }

            target = parsed;
        }

        var action = $"remove model {source}" + (target is null ? "" : $" {ModelRuleArgs.Show(target)}");
        var result = await context.Tenant.RemoveRuleAsync(source, target, context.Audit(action));
        return result.Status switch
        {
            RuleChangeStatus.Done when result.Rule is null => CommandReply.Ok(
                $"🗑️ Removed the rule for {Markdown.Code(source)}. Every Roxy frontend stops using it within a second."),
            RuleChangeStatus.Done => CommandReply.Ok(
                $"🗑️ Removed {Markdown.Code(ModelRuleArgs.Show(target!))} from the rule for {Markdown.Code(source)}; it now sends to {ModelRuleArgs.Targets(result.Rule)}."),
            RuleChangeStatus.ConfigOwned => CommandReply.Error(
                $"The rule for {Markdown.Code(source)} comes from the configuration file: the YAML owns it, so chat cannot remove it. Remove it from `model_rules` in the config."),
            RuleChangeStatus.TargetNotFound => CommandReply.Error(
                $"The rule for {Markdown.Code(source)} has no target {Markdown.Code(ModelRuleArgs.Show(target!))}; its targets: {ModelRuleArgs.Targets(result.Rule!)}."),
            _ => CommandReply.Error($"This tenant has no rule for {Markdown.Code(source)}. `#roxy list models` shows the rules.", Syntax),
        };
    }
}
