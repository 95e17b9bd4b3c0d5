namespace Roxy.Api.Apis.Admin;

/// <summary>The body of <c>POST /admin/tenants</c>, as documented; the route reads it field by field.</summary>
/// <param name="Id">1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit.</param>
public sealed record TenantCreateRequest(string Id);
