namespace Roxy.Api.Apis.Admin;

/// <summary>
/// SPEC §4a's admin REST API under <c>/admin</c>: operator routes (<see cref="AdminPolicies.Operator"/>) and a tenant's
/// routes (<see cref="AdminPolicies.TenantAdmin"/> with <see cref="TenantScopeFilter"/>). Each route calls the same
/// shared operation as its <c>#roxy</c> command (<c>Roxy.Api/Administration</c>).
/// </summary>
public static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").WithTags("Admin").AddEndpointFilter<ClusterFailureFilter>();
        var operatorRoutes = admin.MapGroup("").RequireAuthorization(AdminPolicies.Operator);
        var tenantRoutes = admin.MapGroup("/tenants/{tenant}").RequireAuthorization(AdminPolicies.TenantAdmin).AddEndpointFilter<TenantScopeFilter>();

        operatorRoutes.MapTenantRoutes();
        tenantRoutes.MapTokenRoutes();
        tenantRoutes.MapKeyRoutes();
        tenantRoutes.MapRuleRoutes();
        tenantRoutes.MapCacheRoutes();
        tenantRoutes.MapUsageRoutes();
        tenantRoutes.MapAuditRoutes();
        // Not under /tenants/{tenant}: which tenant a request id belongs to is the route's own business.
        admin.MapGroup("").RequireAuthorization(AdminPolicies.TenantAdmin).MapRequestRoutes();
        return app;
    }
}
