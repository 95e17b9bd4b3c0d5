namespace Roxy.Api.Apis.Admin;

/// <summary>The body of <c>POST /admin/tenants/{tenant}/tokens</c>, as documented; the route reads it field by field.</summary>
/// <param name="Role"><c>admin</c> or <c>member</c>.</param>
/// <param name="Name">What to call it (up to 64 characters).</param>
/// <param name="Budget">The token's own cap; each limit at most the tenant's of the same window.</param>
public sealed record TokenIssueRequest(string Role, string? Name = null, TenantBudget? Budget = null);
