using Roxy.Api.Errors;
using Roxy.Api.Proxy;
using Roxy.Api.Tracing;
using Roxy.Grains;
using Roxy.Grains.Tracing;

namespace Roxy.Api.Administration;

/// <summary>
/// A recent request's trace, for <c>#roxy why</c> and <c>GET /admin/requests/{id}</c>: looked up only in the given
/// tenant's trace grain, so a tenant never sees, nor learns of, another tenant's request. The caller decides the tenant:
/// the command's and a tenant admin's own, or the one the operator names.
/// </summary>
public sealed class RequestAdministration(IGrainFactory grains, UnsentTraces unsent)
{
    /// <summary>The trace of <paramref name="requestId"/> in <paramref name="tenantId"/>; null when unknown, expired or another tenant's.</summary>
    public async Task<RequestTrace?> FindAsync(string tenantId, string requestId)
    {
        // An id Roxy never gives costs no grain call.
        if (!RequestIds.IsWellFormed(requestId))
        {
            return null;
        }

        // This frontend's own requests of the last moment are not sent yet.
        if (unsent.Find(tenantId, requestId) is { } local)
        {
            return local;
        }

        var trace = await grains.GetGrain<IRequestTraceGrain>(GrainKeys.RequestTrace(tenantId)).FindAsync(requestId);
        return trace is not null && string.Equals(trace.TenantId, tenantId, StringComparison.Ordinal) ? trace : null;
    }

    /// <summary>The admin API's answer for an unknown id, or another tenant's: 404 in OpenAI's shape.</summary>
    public static ProxyError NotFound(string requestId) => new(
        StatusCodes.Status404NotFound, "invalid_request_error", "request_not_found", NotFoundMessage(requestId), "request_id");

    /// <summary>What an unknown id is told, by chat and by the API alike.</summary>
    public static string NotFoundMessage(string requestId) =>
        $"There is no recent request '{Shorten(requestId)}' in this tenant. Roxy keeps the routing of at least the last 10,000 requests of each tenant; the id is the 'x-request-id' header of the answer.";

    // The id comes from the caller: echoed, but never at any length.
    private static string Shorten(string id) => id.Length > 40 ? id[..40] + "…" : id;
}
