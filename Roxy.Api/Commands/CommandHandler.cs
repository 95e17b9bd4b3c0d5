using Roxy.Api.Errors;
using Roxy.Api.Protocols;
using Roxy.Api.Tenancy;
using Roxy.Grains;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Commands;

/// <summary>
/// Runs a <c>#roxy</c> command: match, check the role, execute, answer. Commands never reach a provider or the
/// cache, and their arguments are never logged (they may hold a secret).
/// </summary>
public sealed partial class CommandHandler(
    CommandRegistry registry,
    IGrainFactory grains,
    TenantSnapshotCache tenants,
    TimeProvider time,
    ILogger<CommandHandler> logger)
{
    /// <param name="protocol">The client's protocol: the answer is a message in it, from model <c>roxy</c>.</param>
    public async Task HandleAsync(HttpContext http, string requestId, TenantIdentity identity, string text, WireProtocol protocol, bool stream, bool includeUsage)
    {
        var words = CommandParser.Words(text);
        var command = registry.Match(words, out var rest);
        CommandReply reply;
        if (command is null)
        {
            reply = words.Count == 0
                ? await registry.All.First(c => c.Name == "help").ExecuteAsync(Context(), CommandArgs.Parse([]))
                : CommandReply.Error($"Unknown command `{Describe(words)}`. Type `#roxy help` for the list.");
        }
        else if (command.AdminOnly && identity.Role != TenantRole.Admin)
        {
            reply = CommandReply.Error($"`#roxy {command.Name}` needs an admin token; yours is a member token.");
        }
        else
        {
            try
            {
                reply = await command.ExecuteAsync(Context(), CommandArgs.Parse(rest));
                if (reply.IsError is false)
                {
                    // This frontend serves the change from the next request on; the others within a second.
                    await tenants.ReloadAsync(identity.TenantId);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The exception may quote arguments; log only its type.
                CommandFailed(logger, requestId, command.Name, ex.GetType().Name);
                if (ProxyError.ForClusterFailure(ex) is { } unavailable)
                {
                    // PostgreSQL or the cluster did not answer: a 503 the client may retry, in its protocol's shape.
                    CommandRan(logger, requestId, identity.TenantId, identity.TokenId, command.Name, false);
                    await ErrorWriter.WriteAsync(http, unavailable, protocol);
                    return;
                }

                reply = CommandReply.Error($"`#roxy {command.Name}` failed inside Roxy ({ex.GetType().Name}); nothing was changed unless the audit log says so. Request id: {requestId}.");
            }
        }

        CommandRan(logger, requestId, identity.TenantId, identity.TokenId, command?.Name ?? "unknown", !reply.IsError);
        await CommandResponder.WriteAsync(http, requestId, reply.Markdown, protocol, stream, includeUsage, time);

        CommandContext Context() => new(identity, requestId, grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(identity.TenantId)), time);
    }

    // Only the first word of an unknown command is echoed: the rest may be a secret typed in the wrong place.
    private static string Describe(IReadOnlyList<string> words) => words[0].Length > 24 ? words[0][..24] + "…" : words[0];

    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "command {RequestId} tenant={Tenant} token={TokenId} command={Command} ok={Ok}")]
    private static partial void CommandRan(ILogger logger, string requestId, string tenant, string tokenId, string command, bool ok);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "command {RequestId} {Command} failed with {ExceptionType}")]
    private static partial void CommandFailed(ILogger logger, string requestId, string command, string exceptionType);
}
