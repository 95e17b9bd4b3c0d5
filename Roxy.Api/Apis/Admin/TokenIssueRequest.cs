using System.Text.Json.Serialization;

namespace Roxy.Api.Apis.Admin;

/// <summary>The body of <c>POST /admin/tenants/{tenant}/tokens</c>.</summary>
/// <param name="Role"><c>admin</c> or <c>member</c>.</param>
/// <param name="Name">What to call it (up to 64 characters).</param>
/// <param name="Budget">The token's own cap; each limit at most the tenant's of the same window.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record TokenIssueRequest(string? Role, string? Name = null, TenantBudget? Budget = null)
{
    public static TokenIssueRequest Example { get; } = new("member", "ci", new TenantBudget(1, null));
}
