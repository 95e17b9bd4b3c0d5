namespace Roxy.Api.Apis.Admin;

/// <summary>One token in <c>GET /admin/tenants/{tenant}/tokens</c>: never the token or its hash.</summary>
/// <param name="Owner"><c>config</c> (from the YAML, cannot be revoked here) or <c>runtime</c> (issued through the API).</param>
/// <param name="Created">When it was issued; null for config tokens.</param>
/// <param name="LastUsed">The latest request made with it in the last 31 days; null when none.</param>
public sealed record TokenSummary(string Id, string? Name, string Role, string Owner, DateTimeOffset? Created, DateTimeOffset? LastUsed, TenantBudget? Budget);
