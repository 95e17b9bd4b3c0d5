namespace Roxy.Api.Apis.Admin;

/// <summary><c>GET /admin/tenants</c>: OpenAI's list shape.</summary>
public sealed record TenantList(string Object, IReadOnlyList<TenantSummary> Data)
{
    public static TenantList Example { get; } = new("list", [TenantSummary.Example with { Tokens = 2, Keys = 1 }, new("default", "config", 1, 3, null)]);
}
