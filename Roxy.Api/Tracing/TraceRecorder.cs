using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Tracing;

#pragma warning disable IDE0060 // seam: remove once filled in
// seam: helper T builds the steps, the finished trace, and its batched one-way delivery to the tenant's trace grain.
/// <summary>Builds each request's trace as it goes and queues it, finished, for the tenant's trace grain.</summary>
public sealed class TraceRecorder
{
    public void LeaseRefused(ProxyRequest request, RouteTarget target, KeyLease lease)
    {
    }

    public void TargetUnsupported(ProxyRequest request, RouteTarget target, string reason)
    {
    }

    public void SecretMissing(ProxyRequest request, RouteTarget target, KeyLease lease)
    {
    }

    public void AttemptEnded(ProxyRequest request, RouteTarget target, KeyLease lease, AttemptResult result, long started)
    {
    }

    public void Waited(ProxyRequest request, TimeSpan waited)
    {
    }

    public void Completed(ProxyRequest request, int status)
    {
    }
}
