namespace Roxy.Api.Apis.Admin;

/// <summary><c>GET /admin/tenants/{tenant}/tokens</c>: OpenAI's list shape.</summary>
public sealed record TokenList(string Object, IReadOnlyList<TokenSummary> Data)
{
    public static TokenList Example { get; } = new("list", [
        new("t-3f9a0c21be", "ci", "member", "runtime", new(2026, 12, 1, 9, 30, 0, TimeSpan.Zero), new(2026, 12, 1, 10, 2, 11, TimeSpan.Zero), new TenantBudget(1, null)),
        new("t-8be1d04a77", null, "admin", "config", null, null, null),
    ]);
}
