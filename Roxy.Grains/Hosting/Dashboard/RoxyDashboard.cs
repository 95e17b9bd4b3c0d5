using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Dashboard;

namespace Roxy.Grains.Hosting.Dashboard;

/// <summary>
/// The Orleans dashboard on every silo or none: <see cref="RoxyOrleansHosting.UseRoxySilo"/> adds its silo services
/// when it is on (it needs them on every silo to show each one), and each host maps its pages on the dashboard port.
/// </summary>
public static class RoxyDashboard
{
    private const string Challenge = "Basic realm=\"Roxy dashboard\", charset=\"UTF-8\"";

    public static ISiloBuilder AddRoxyDashboard(this ISiloBuilder silo)
    {
        silo.Services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, DashboardPortPolicy>());
        return silo.AddDashboard();
    }

    /// <summary>
    /// Serves the dashboard under <see cref="RoxyDashboardOptions.Path"/> on its own port (the app must listen on
    /// <see cref="RoxyDashboardOptions.ListenUrl"/> too). Anything else on that port is 404, and when the app has
    /// other ports (Roxy.Api's), the dashboard's routes match only for connections accepted on its port
    /// (<see cref="DashboardPortPolicy"/>), whatever Host header the client sends.
    /// </summary>
    public static void MapRoxyDashboard(this WebApplication app, RoxyDashboardOptions options, bool sharesApp)
    {
        app.Use((context, next) =>
        {
            if (context.Connection.LocalPort != options.Port)
            {
                // Routing has run: with DashboardPortPolicy registered no dashboard route matches here. Should it be
                // missing, this still refuses the dashboard off its port instead of serving it unguarded.
                if (sharesApp && context.Request.Path.StartsWithSegments(RoxyDashboardOptions.Path)
                    && context.GetEndpoint()?.Metadata.GetMetadata<DashboardPortMetadata>() is not null)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return next(context);
            }

            var path = context.Request.Path;
            if (!path.StartsWithSegments(RoxyDashboardOptions.Path))
            {
                if (path == "/")
                {
                    context.Response.Redirect(RoxyDashboardOptions.Path + "/");
                }
                else
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                }

                return Task.CompletedTask;
            }

            if (options.OperatorTokenSha256 is { } expected && !Presents(context.Request, expected))
            {
                // A browser asks for the token (any user name, the token as password); curl can send a Bearer header.
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = Challenge;
                return Task.CompletedTask;
            }

            return next(context);
        });

        // On Roxy's API port, /dashboard is not a route: it gets Roxy's own 404.
        app.MapOrleansDashboard(RoxyDashboardOptions.Path).WithMetadata(new DashboardPortMetadata(options.Port));
    }

    /// <summary>Whether the request carries the operator token, as a Bearer token or as the password of Basic auth.</summary>
    internal static bool Presents(HttpRequest request, byte[] expectedSha256)
    {
        var header = request.Headers.Authorization.ToString();
        string? token = null;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = header["Bearer ".Length..].Trim();
        }
        else if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
                var colon = pair.IndexOf(':', StringComparison.Ordinal);
                token = colon < 0 ? null : pair[(colon + 1)..];
            }
            catch (FormatException)
            {
                return false;
            }
        }

        if (string.IsNullOrEmpty(token))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), expectedSha256);
    }
}
