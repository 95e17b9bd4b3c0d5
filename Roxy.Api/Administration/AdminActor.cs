using Roxy.Grains.Tenancy;

namespace Roxy.Api.Administration;

/// <summary>
/// Who makes a change and through which door: a tenant token (its id, never the token) or the operator, by chat or
/// by the admin API. Every shared operation takes one, so both doors write the same audit entry.
/// </summary>
public sealed record AdminActor(string TokenId, string Channel)
{
    public const string Chat = "chat";
    public const string Api = "api";

    /// <summary>The token id the audit log shows for the operator (<c>ROXY_ADMIN_TOKEN</c>).</summary>
    public const string OperatorTokenId = "operator";

    public static AdminActor Operator { get; } = new(OperatorTokenId, Api);

    /// <summary>An audit entry for a change; <paramref name="action"/> must already have its secrets masked.</summary>
    public AuditEntry Audit(TimeProvider time, string action) => new(time.GetUtcNow(), TokenId, Channel, action);
}
