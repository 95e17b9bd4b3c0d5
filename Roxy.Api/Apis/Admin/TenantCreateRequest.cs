using System.Text.Json.Serialization;

namespace Roxy.Api.Apis.Admin;

/// <summary>The body of <c>POST /admin/tenants</c>.</summary>
/// <param name="Id">1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record TenantCreateRequest(string? Id)
{
    public static TenantCreateRequest Example { get; } = new("acme");
}
