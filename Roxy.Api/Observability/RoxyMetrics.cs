using Roxy.Api.Proxy;
using Roxy.Api.Routing;

namespace Roxy.Api.Observability;

#pragma warning disable IDE0060 // seam: remove once filled in
// seam: helper M builds the instruments (SPEC §9) behind these calls.
/// <summary>Roxy's instruments: the GenAI semantic conventions' where they fit, then Roxy's own (SPEC §9).</summary>
public sealed class RoxyMetrics
{
    public void AttemptEnded(ProxyRequest request, RouteTarget target, AttemptResult result, long started)
    {
    }

    public void Waited(ProxyRequest request, TimeSpan waited)
    {
    }

    public void BudgetRejected(ProxyRequest request, string scope)
    {
    }

    public void RequestRejected(Tenancy.TenantIdentity? identity, Protocols.WireProtocol protocol, Errors.ProxyError error)
    {
    }

    public void RequestCompleted(ProxyRequest request, int status)
    {
    }
}
