using System.Security.Claims;
using Roxy.Api.Administration;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Apis.Admin;

/// <summary>The caller of an admin route, as <see cref="RoxyTokenAuthentication"/> authenticated it.</summary>
/// <param name="TenantId">The tenant a tenant token opens; null for the operator.</param>
public sealed record AdminCaller(bool IsOperator, string? TenantId, string TokenId, TenantRole Role)
{
    public AdminActor Actor => new(TokenId, AdminActor.Api);

    /// <summary>Whether this caller may use <paramref name="tenantId"/>'s routes: the operator any, an admin only its own.</summary>
    public bool MayManage(string tenantId) => IsOperator || (Role == TenantRole.Admin && string.Equals(TenantId, tenantId, StringComparison.Ordinal));

    public static AdminCaller From(ClaimsPrincipal user)
    {
        var isOperator = user.HasClaim(RoxyTokenAuthentication.RoleClaim, RoxyTokenAuthentication.OperatorRole);
        return new AdminCaller(
            isOperator,
            user.FindFirstValue(RoxyTokenAuthentication.TenantClaim),
            user.FindFirstValue(RoxyTokenAuthentication.TokenIdClaim) ?? "",
            isOperator || user.HasClaim(RoxyTokenAuthentication.RoleClaim, RoxyTokenAuthentication.AdminRole) ? TenantRole.Admin : TenantRole.Member);
    }
}
