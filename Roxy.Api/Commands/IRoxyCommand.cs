namespace Roxy.Api.Commands;

/// <summary>
/// One <c>#roxy</c> command. Adding a command is a new class implementing this and one line in
/// <see cref="CommandServiceExtensions.AddRoxyCommands"/>; help, role checks and audit come from the framework.
/// </summary>
public interface IRoxyCommand
{
    /// <summary>The words after <c>#roxy</c> that select it, e.g. <c>add key</c>.</summary>
    string Name { get; }

    /// <summary>Full syntax shown in help and in error replies.</summary>
    string Syntax { get; }

    string Summary { get; }

    bool AdminOnly { get; }

    Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args);
}
