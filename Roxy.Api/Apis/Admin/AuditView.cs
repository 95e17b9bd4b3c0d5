using Roxy.Grains.Tenancy;

namespace Roxy.Api.Apis.Admin;

/// <summary>One change: when, by which token id (<c>operator</c> for ROXY_ADMIN_TOKEN), through chat or api, what (secrets masked).</summary>
public sealed record AuditView(DateTimeOffset Time, string TokenId, string Channel, string Action)
{
    public static AuditView Example { get; } = new(new DateTimeOffset(2026, 1, 15, 9, 30, 0, TimeSpan.Zero), "t-1a2b3c4d5e", "api", "add key openai sk-…a1b2 rpm=500 tpm=200000 cooldown=60");

    public static AuditView From(AuditEntry entry) => new(entry.Time, entry.TokenId, entry.Channel, entry.Action);
}
