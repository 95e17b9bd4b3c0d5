namespace Roxy.Api.Apis.Admin;

/// <summary>The answer to issuing a token: the only time <see cref="Token"/> is shown (Roxy keeps its hash alone).</summary>
public sealed record TokenIssued(string Id, string Token, string Role, string? Name, TenantBudget? Budget)
{
    public static TokenIssued Example { get; } = new("t-3f9a0c21be", "roxy-q2Vh1m0cJ2sQ8c8Jk7mM3b0f2o0W1l3n5Ql9x7yZk2U", "member", "ci", new TenantBudget(1, null));
}
