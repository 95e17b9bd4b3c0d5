namespace Roxy.Api.Apis.Admin;

/// <summary>One tenant in <c>GET /admin/tenants</c>.</summary>
/// <param name="Owner"><c>config</c> (follows the YAML) or <c>runtime</c> (created through the admin API).</param>
public sealed record TenantSummary(string Id, string Owner, int Tokens, int Keys, TenantBudget? Budget)
{
    public static TenantSummary Example { get; } = new("acme", "runtime", 0, 0, TenantBudget.Example);
}
