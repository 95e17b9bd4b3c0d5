namespace Roxy.Api.Apis.Admin;

/// <summary><c>GET /admin/tenants/{tenant}/tokens</c>: OpenAI's list shape.</summary>
public sealed record TokenList(string Object, IReadOnlyList<TokenSummary> Data);
