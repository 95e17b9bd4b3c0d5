using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace Roxy.Grains.Hosting.Dashboard;

/// <summary>Marks an endpoint served only to connections accepted on <paramref name="Port"/> (the dashboard's).</summary>
public sealed record DashboardPortMetadata(int Port);

/// <summary>
/// Routing matches an endpoint marked with <see cref="DashboardPortMetadata"/> only for a connection accepted on that
/// port, so on Roxy's API port the dashboard's paths fall through to Roxy's own 404. It reads the connection's local
/// port, never the Host header, which the client chooses (<c>Host: x:8090</c> sent to the API port).
/// </summary>
internal sealed class DashboardPortPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    // Before the HTTP method policy, as the host policy it replaces ran.
    public override int Order => -100;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Metadata.GetMetadata<DashboardPortMetadata>() is not null)
            {
                return true;
            }
        }

        return false;
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var port = httpContext.Connection.LocalPort;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i) && candidates[i].Endpoint.Metadata.GetMetadata<DashboardPortMetadata>() is { } only && only.Port != port)
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }
}
