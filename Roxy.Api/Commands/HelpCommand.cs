using System.Text;

namespace Roxy.Api.Commands;

public sealed class HelpCommand(IServiceProvider services) : IRoxyCommand
{
    public string Name => "help";
    public string Syntax => "#roxy help";
    public string Summary => "All commands with their syntax.";
    public bool AdminOnly => false;

    public Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        var registry = services.GetRequiredService<CommandRegistry>();
        var text = new StringBuilder("**Roxy commands** (type them as a chat message)\n\n| command | who | what |\n|---|---|---|\n");
        foreach (var command in registry.All)
        {
            text.Append("| `").Append(command.Syntax).Append("` | ").Append(command.AdminOnly ? "admin" : "any")
                .Append(" | ").Append(command.Summary).Append(" |\n");
        }

        text.Append("\nYou are signed in as **").Append(context.Identity.Role.ToString().ToLowerInvariant())
            .Append("** of tenant `").Append(context.Identity.TenantId).Append("`.");
        return Task.FromResult(CommandReply.Ok(text.ToString()));
    }
}
