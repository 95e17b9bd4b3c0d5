namespace Roxy.Api.Commands;

/// <summary>What a command answers, as Markdown for the assistant message.</summary>
public sealed record CommandReply(string Markdown, bool IsError = false)
{
    public static CommandReply Ok(string markdown) => new(markdown);

    public static CommandReply Error(string message, string? syntax = null) =>
        new(syntax is null ? $"⚠️ {message}" : $"⚠️ {message}\n\nUsage: `{syntax}`", IsError: true);

    /// <summary>The caller's tenant was deleted while its token was still accepted (a frontend learns it within a second).</summary>
    public static CommandReply TenantGone { get; } = Error("This tenant no longer exists (it was deleted); nothing was changed.");
}
