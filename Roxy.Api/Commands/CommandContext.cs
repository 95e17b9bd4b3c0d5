using Roxy.Api.Administration;
using Roxy.Api.Tenancy;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Commands;

/// <summary>Who runs a command, in which tenant, and how to record what it changed.</summary>
public sealed class CommandContext(TenantIdentity identity, string requestId, ITenantGrain tenant, TimeProvider time)
{
    public TenantIdentity Identity { get; } = identity;
    public string RequestId { get; } = requestId;
    public ITenantGrain Tenant { get; } = tenant;
    public TimeProvider Time { get; } = time;

    /// <summary>The command's author for the shared operations: its token, channel chat.</summary>
    public AdminActor Actor { get; } = new(identity.TokenId, AdminActor.Chat);

    /// <summary>An audit entry for a change; <paramref name="action"/> must already have its secrets masked.</summary>
    public AuditEntry Audit(string action) => Actor.Audit(Time, action);
}
