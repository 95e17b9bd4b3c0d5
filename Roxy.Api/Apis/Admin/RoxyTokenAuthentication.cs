using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Roxy.Api.Administration;
using Roxy.Api.Errors;
using Roxy.Api.Tenancy;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// The <c>/admin</c> routes' authentication scheme: <c>Authorization: Bearer</c> (or <c>x-api-key</c>) with the
/// operator token (<c>ROXY_ADMIN_TOKEN</c>, compared in fixed time) or a tenant token (the proxy's own directory,
/// <see cref="TokenAuthenticator"/>). The proxy routes do not go through this: they keep their direct lookup.
/// </summary>
public sealed class RoxyTokenAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggers,
    UrlEncoder encoder,
    TokenAuthenticator tokens,
    OperatorToken operatorToken) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggers, encoder)
{
    public const string SchemeName = "RoxyToken";
    public const string RoleClaim = "roxy:role";
    public const string TenantClaim = "roxy:tenant";
    public const string TokenIdClaim = "roxy:token";
    public const string OperatorRole = "operator";
    public const string AdminRole = "admin";
    public const string MemberRole = "member";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (TokenAuthenticator.ExtractToken(Request).IsEmpty)
        {
            return AuthenticateResult.NoResult();
        }

        if (operatorToken.Matches(TokenAuthenticator.ExtractToken(Request)))
        {
            return Success([new(RoleClaim, OperatorRole), new(TokenIdClaim, AdminActor.OperatorTokenId)]);
        }

        var identity = await tokens.AuthenticateAsync(Context);
        if (identity is null)
        {
            return AuthenticateResult.Fail("unknown token");
        }

        return Success([
            new(RoleClaim, identity.Role == TenantRole.Admin ? AdminRole : MemberRole),
            new(TenantClaim, identity.TenantId),
            new(TokenIdClaim, identity.TokenId),
        ]);
    }

    private static AuthenticateResult Success(Claim[] claims) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));

    // Both answers in OpenAI's error shape, like every other Roxy error.
    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => ErrorWriter.WriteAsync(Context, ProxyError.InvalidApiKey);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => ErrorWriter.WriteAsync(Context, AdminErrors.AdminTokenNeeded);
}

/// <summary><c>ROXY_ADMIN_TOKEN</c>, held only as its SHA-256; <see cref="IsSet"/> is false when the variable is unset or empty.</summary>
public sealed class OperatorToken
{
    public const string Variable = "ROXY_ADMIN_TOKEN";

    private readonly byte[]? _hash;

    public OperatorToken(IReadOnlyDictionary<string, string?> environment)
    {
        var value = environment.GetValueOrDefault(Variable)?.Trim();
        _hash = string.IsNullOrEmpty(value) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(value));
    }

    public bool IsSet => _hash is not null;

    public bool Matches(ReadOnlySpan<char> token)
    {
        if (_hash is null || token.IsEmpty)
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[32];
        var utf8 = Encoding.UTF8.GetBytes(token.ToString());
        SHA256.HashData(utf8, hash);
        return CryptographicOperations.FixedTimeEquals(hash, _hash);
    }
}
