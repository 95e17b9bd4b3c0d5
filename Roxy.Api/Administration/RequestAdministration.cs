using System.Runtime.ExceptionServices;
using Roxy.Api.Errors;
using Roxy.Api.Proxy;
using Roxy.Api.Tracing;
using Roxy.Grains;
using Roxy.Grains.Tenancy;
using Roxy.Grains.Tracing;

namespace Roxy.Api.Administration;

/// <summary>
/// A recent request's trace, for <c>#roxy why</c> and <c>GET /admin/requests/{id}</c>: looked up only in the given
/// tenant's trace grain, so a tenant never sees, nor learns of, another tenant's request. The caller decides the tenant:
/// the command's and a tenant admin's own, or the one the operator names; only the operator may search them all.
/// </summary>
public sealed class RequestAdministration(IGrainFactory grains, UnsentTraces unsent)
{
    /// <summary>How many tenants' trace grains the operator's search asks at once: enough to be quick, few enough not to flood the silos.</summary>
    public const int SearchConcurrency = 16;

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

        return await FindSentAsync(tenantId, requestId);
    }

    /// <summary>
    /// The trace of <paramref name="requestId"/> in whichever tenant has it, for the operator who names none (request
    /// ids do not say their tenant). Every tenant's trace grain is asked, <see cref="SearchConcurrency"/> at a time,
    /// until one has it; ids are random, so the first found is the only one. Null when none has it; throws when none
    /// has it and some could not be asked, since then "not found" is not known.
    /// </summary>
    public async Task<RequestTrace?> FindInAnyTenantAsync(string requestId, CancellationToken cancellation)
    {
        if (!RequestIds.IsWellFormed(requestId))
        {
            return null;
        }

        if (unsent.FindInAnyTenant(requestId) is { } local)
        {
            return local;
        }

        var tenants = await grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry).ListTenantsAsync();
        RequestTrace? found = null;
        Exception? failure = null;
        var next = -1;

        // Each worker takes the next tenant until the list ends or one finds the trace.
        async Task SearchAsync()
        {
            while (Volatile.Read(ref found) is null && !cancellation.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= tenants.Count)
                {
                    return;
                }

                try
                {
                    if (await FindSentAsync(tenants[i].Id, requestId) is { } trace)
                    {
                        Interlocked.CompareExchange(ref found, trace, null);
                    }
                }
                catch (Exception ex)
                {
                    // One tenant's table unreadable does not hide a trace another tenant has.
                    Interlocked.CompareExchange(ref failure, ex, null);
                }
            }
        }

        var workers = new Task[Math.Min(SearchConcurrency, tenants.Count)];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = SearchAsync();
        }

        await Task.WhenAll(workers);
        if (found is not null)
        {
            return found;
        }

        cancellation.ThrowIfCancellationRequested();
        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        return null;
    }

    /// <summary>The admin API's answer for an unknown id, or another tenant's: 404 in OpenAI's shape.</summary>
    public static ProxyError NotFound(string requestId) => new(
        StatusCodes.Status404NotFound, "invalid_request_error", "request_not_found", NotFoundMessage(requestId), "request_id");

    /// <summary>What an unknown id is told, by chat and by the API alike.</summary>
    public static string NotFoundMessage(string requestId) =>
        $"There is no recent request '{Shorten(requestId)}' in this tenant. Roxy keeps the routing of at least the last 10,000 requests of each tenant; the id is the 'x-request-id' header of the answer.";

    /// <summary>The operator's answer when no tenant has the id.</summary>
    public static ProxyError NotFoundInAnyTenant(string requestId) => new(
        StatusCodes.Status404NotFound, "invalid_request_error", "request_not_found",
        $"No tenant has a recent request '{Shorten(requestId)}'. Roxy keeps the routing of at least the last 10,000 requests of each tenant; the id is the 'x-request-id' header of the answer.",
        "request_id");

    // What the tenant's trace grain holds (memory, then PostgreSQL); a trace of another tenant is never answered.
    private async Task<RequestTrace?> FindSentAsync(string tenantId, string requestId)
    {
        var trace = await grains.GetGrain<IRequestTraceGrain>(GrainKeys.RequestTrace(tenantId)).FindAsync(requestId);
        return trace is not null && string.Equals(trace.TenantId, tenantId, StringComparison.Ordinal) ? trace : null;
    }

    // The id comes from the caller: echoed, but never at any length.
    private static string Shorten(string id) => id.Length > 40 ? id[..40] + "…" : id;
}
