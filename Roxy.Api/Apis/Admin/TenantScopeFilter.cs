using Roxy.Api.Errors;
using Roxy.Api.Tenancy;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// On every <c>/admin/tenants/{tenant}/…</c> route: the operator may use any tenant that exists, an admin only its own;
/// anything else is 404, as if the tenant did not exist, so no tenant learns another's name.
/// </summary>
public sealed class TenantScopeFilter(TenantSnapshotCache tenants) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var tenantId = http.Request.RouteValues["tenant"] as string ?? "";
        var caller = AdminCaller.From(http.User);
        if (!caller.MayManage(tenantId) || !TenantIds.IsValid(tenantId) || !(await tenants.GetAsync(tenantId)).Exists)
        {
            return ErrorWriter.ToResult(AdminErrors.TenantNotFound(tenantId));
        }

        return await next(context);
    }
}
