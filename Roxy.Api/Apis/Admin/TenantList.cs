namespace Roxy.Api.Apis.Admin;

/// <summary><c>GET /admin/tenants</c>: OpenAI's list shape.</summary>
public sealed record TenantList(string Object, IReadOnlyList<TenantSummary> Data);
