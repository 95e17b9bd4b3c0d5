namespace Roxy.Api.Apis.Admin;

/// <summary>The answer to issuing a token: the only time <see cref="Token"/> is shown (Roxy keeps its hash alone).</summary>
public sealed record TokenIssued(string Id, string Token, string Role, string? Name, TenantBudget? Budget);
