using Roxy.Api.Errors;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Api.Tenancy;
using Roxy.Api.Tracing;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Observability;

/// <summary>
/// Everything that watches a proxied request go by, called at the few points where something happens: a lease the
/// rotation grain refused, an upstream attempt ended, a wait, a budget rejection, the request's end. Each call fans out
/// to the metrics, the request's trace and (at the end) the request log line; none blocks or calls a grain.
/// </summary>
public sealed class RequestObserver(RoxyMetrics metrics, TraceRecorder traces, ILogger<RequestObserver> logger)
{
    /// <summary>The rotation grain handed out no key for <paramref name="target"/> (no keys, exhausted, backoff, too large).</summary>
    public void LeaseRefused(ProxyRequest request, RouteTarget target, KeyLease lease) =>
        traces.LeaseRefused(request, target, lease);

    /// <summary>A target passed over before any key was asked for (its protocol cannot express the request, …).</summary>
    public void TargetUnsupported(ProxyRequest request, RouteTarget target, string reason) =>
        traces.TargetUnsupported(request, target, reason);

    /// <summary>A granted key whose secret this process cannot resolve.</summary>
    public void SecretMissing(ProxyRequest request, RouteTarget target, KeyLease lease) =>
        traces.SecretMissing(request, target, lease);

    /// <summary>One upstream call ended; <paramref name="started"/> is its <see cref="System.Diagnostics.Stopwatch"/> timestamp.</summary>
    public void AttemptEnded(ProxyRequest request, RouteTarget target, KeyLease lease, AttemptResult result, long started)
    {
        metrics.AttemptEnded(request, target, result, started);
        traces.AttemptEnded(request, target, lease, result, started);
    }

    /// <summary>The failover loop waited <paramref name="waited"/> for a key to free up.</summary>
    public void Waited(ProxyRequest request, TimeSpan waited)
    {
        request.Waited += waited;
        metrics.Waited(request, waited);
        traces.Waited(request, waited);
    }

    /// <summary>A budget refused the request (<paramref name="scope"/>: <c>tenant</c> or <c>token</c>).</summary>
    public void BudgetRejected(ProxyRequest request, string scope) => metrics.BudgetRejected(request, scope);

    /// <summary>
    /// A request answered with <paramref name="error"/> before it became a <see cref="ProxyRequest"/> (no or a bad token,
    /// an unreadable body); <paramref name="identity"/> is null when the token was not recognised.
    /// </summary>
    public void Rejected(HttpContext http, string requestId, TenantIdentity? identity, WireProtocol protocol, ProxyError error)
    {
        metrics.RequestRejected(identity, protocol, error);
        RequestLog.Rejected(logger, http, requestId, identity, protocol, error);
    }

    /// <summary>The request ended, however it ended, with <paramref name="status"/> sent to the client.</summary>
    public void Completed(ProxyRequest request, int status)
    {
        metrics.RequestCompleted(request, status);
        traces.Completed(request, status);
        RequestLog.Write(logger, request, status);
    }
}
