namespace Roxy.Api.Commands;

public static class CommandServiceExtensions
{
    /// <summary>Every <c>#roxy</c> command; a new command is one more line here.</summary>
    public static IServiceCollection AddRoxyCommands(this IServiceCollection services)
    {
        services.AddSingleton<IRoxyCommand, HelpCommand>();
        services.AddSingleton<IRoxyCommand, StatusCommand>();
        services.AddSingleton<IRoxyCommand, AddKeyCommand>();
        services.AddSingleton<IRoxyCommand, RemoveKeyCommand>();
        services.AddSingleton<IRoxyCommand, ListKeysCommand>();
        services.AddSingleton<IRoxyCommand, EnableKeyCommand>();
        services.AddSingleton<IRoxyCommand, DisableKeyCommand>();
        services.AddSingleton<IRoxyCommand, TestKeyCommand>();
        services.AddSingleton<IRoxyCommand, AuditCommand>();
        services.AddSingleton<IRoxyCommand, AddModelCommand>();
        services.AddSingleton<IRoxyCommand, RemoveModelCommand>();
        services.AddSingleton<IRoxyCommand, ListModelsCommand>();
        services.AddSingleton<IRoxyCommand, CacheStatsCommand>();
        services.AddSingleton<IRoxyCommand, CacheClearCommand>();
        services.AddSingleton<IRoxyCommand, UsageCommand>();
        services.AddSingleton<IRoxyCommand, WhyCommand>();
        // The shared operations behind both the commands and the admin API routes.
        services.AddSingleton<Administration.KeyAdministration>();
        services.AddSingleton<Administration.RuleAdministration>();
        services.AddSingleton<Administration.CacheAdministration>();
        services.AddSingleton<Administration.AuditAdministration>();
        services.AddSingleton<Administration.RequestAdministration>();
        services.AddSingleton<CommandRegistry>();
        services.AddSingleton<CommandHandler>();
        return services;
    }
}
