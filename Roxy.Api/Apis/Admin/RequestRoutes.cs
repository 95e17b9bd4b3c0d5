using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Administration;
using Roxy.Api.Errors;
using Roxy.Api.Tenancy;
using Roxy.Grains.Tracing;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// <c>GET /admin/requests/{requestId}</c>: the same trace as <c>#roxy why</c>. A tenant admin looks only in its own
/// tenant, so another tenant's id is 404 as if it did not exist. Request ids do not name their tenant (they are given
/// before the token is read), so the operator's lookup searches every tenant, unless <c>?tenant=</c> narrows it.
/// </summary>
public static class RequestRoutes
{
    public static RouteGroupBuilder MapRequestRoutes(this RouteGroupBuilder group)
    {
        group.MapGet("/requests/{requestId}", GetAsync)
            .WithName("GetRequestTrace")
            .WithSummary("The routing decision of a recent request, as #roxy why.")
            .WithDescription("The rule, every target and key tried or passed over and why (cooling until …, disabled: 401, no headroom, provider backoff), the wait, " +
                "the cache result, tokens, cost and timings of one of the last 10,000 (at least) requests of a tenant, whichever frontend served it. " +
                $"A tenant admin sees its own tenant's requests. The operator's lookup searches every tenant ({RequestAdministration.SearchConcurrency} tenants' traces at a time, stopping at the first that has the id); " +
                "?tenant=<tenant> (the request log line's tenant=) looks in that tenant only. 404 request_not_found for an id unknown, expired or of another tenant; " +
                "404 tenant_not_found for an operator's ?tenant= that does not exist.")
            .WithResponseExample(StatusCodes.Status200OK, RequestTraceView.Example)
            .ProducesAdminErrors(401, 403, 404, 503)
            .WithErrorExample(RequestAdministration.NotFound("req_3f9a1c2b4d5e000000000042"));
        return group;
    }

    public static async Task<Results<Ok<RequestTraceView>, OpenAiErrorResult>> GetAsync(
        string requestId, string? tenant, HttpContext http, RequestAdministration requests, TenantSnapshotCache tenants)
    {
        var caller = AdminCaller.From(http.User);
        string? tenantId;
        if (caller.IsOperator)
        {
            // No ?tenant=: every tenant is searched. A tenant named must exist: no grain is activated for one that does not.
            if (string.IsNullOrEmpty(tenant))
            {
                tenantId = null;
            }
            else if (!TenantIds.IsValid(tenant) || !(await tenants.GetAsync(tenant)).Exists)
            {
                return ErrorWriter.ToResult(AdminErrors.TenantNotFound(tenant));
            }
            else
            {
                tenantId = tenant;
            }
        }
        else
        {
            tenantId = caller.TenantId!;
            if (tenant is not null && !string.Equals(tenant, tenantId, StringComparison.Ordinal))
            {
                // Another tenant's requests do not exist for this caller.
                return ErrorWriter.ToResult(RequestAdministration.NotFound(requestId));
            }
        }

        RequestTrace? trace;
        try
        {
            trace = tenantId is null
                ? await requests.FindInAnyTenantAsync(requestId, http.RequestAborted)
                : await requests.FindAsync(tenantId, requestId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            // The trace grain could not read its table (PostgreSQL down) or the cluster did not answer: retry later.
            return ErrorWriter.ToResult(ProxyError.ClusterUnavailable);
        }

        return trace is not null
            ? TypedResults.Ok(RequestTraceView.From(trace))
            : ErrorWriter.ToResult(tenantId is null ? RequestAdministration.NotFoundInAnyTenant(requestId) : RequestAdministration.NotFound(requestId));
    }
}
