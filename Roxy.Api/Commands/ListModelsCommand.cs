using System.Text;
using Roxy.Api.Administration;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Commands;

public sealed class ListModelsCommand(RuleAdministration rules) : IRoxyCommand
{
    public string Name => "list models";
    public string Syntax => "#roxy list models";
    public string Summary => "The tenant's model rules: source, policy, owner (config or runtime), targets.";
    public bool AdminOnly => false;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        var listing = await rules.ListAsync(context.Identity.TenantId);
        var all = listing.Rules;
        var text = new StringBuilder();
        if (all.Count == 0)
        {
            text.Append("This tenant has no model rules yet. Add one with `#roxy add model <source> <target> [policy]`.\n");
        }
        else
        {
            text.Append("| source | policy | owner | targets | context-length failover |\n|---|---|---|---|---|\n");
            foreach (var rule in all)
            {
                text.Append("| ").Append(Markdown.Code(rule.SourceModel))
                    .Append(" | ").Append(ModelRuleArgs.Name(rule.Policy))
                    .Append(" | ").Append(rule.Owner == Owner.Config ? "config" : "runtime")
                    .Append(" | ").Append(ModelRuleArgs.Targets(rule))
                    .Append(" | ").Append(rule.FailoverOnContextLength ? "yes" : "no").Append(" |\n");
            }
        }

        text.Append(listing.AllowUnlisted
            ? "\nAny other model name goes to its inferred provider as it is (`models.allow_unlisted`)."
            : "\nOnly these sources and their targets may be asked for; anything else is 404 (`models.allow_unlisted: false`).");
        return CommandReply.Ok(text.ToString());
    }
}
