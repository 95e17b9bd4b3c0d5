using Microsoft.Extensions.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Roxy.Api.Configuration;

namespace Roxy.Api.Observability;

/// <summary>
/// OpenTelemetry metrics in Prometheus text at <c>/metrics</c> on the frontend's own port: Roxy's meter, ASP.NET
/// Core's and Orleans'. Meters are enabled through the host's metrics builder rather than the SDK's name match, so a
/// process holding several hosts (the tests) exports each host's meters only from that host.
/// </summary>
public static class MetricsHosting
{
    public const string Path = "/metrics";

    // ASP.NET Core's per-request meters (hosting: request duration and active requests; Kestrel: connections;
    // diagnostics: unhandled exceptions) and Orleans' one meter. Routing's is left out: one more measurement per
    // request that says little a request duration by route does not.
    private static readonly string[] BuiltInMeters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.Orleans",
    ];

    public static WebApplicationBuilder AddRoxyMetrics(this WebApplicationBuilder builder, ResolvedConfig config)
    {
        builder.Services.AddSingleton<MetricLabels>();
        builder.Services.AddSingleton<KeyStateGauge>();
        builder.Services.AddSingleton<RoxyMetrics>();
        if (!config.Raw.Metrics.Enabled)
        {
            return builder;
        }

        builder.Metrics.EnableMetrics(RoxyMetrics.MeterName);
        foreach (var meter in BuiltInMeters)
        {
            builder.Metrics.EnableMetrics(meter);
        }

        // No scrape response cache: Prometheus scrapes every few seconds at most, and a cached page would show a
        // test (or an operator) counts from before the traffic it just sent.
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("roxy"))
            .WithMetrics(m => m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        return builder;
    }

    /// <summary>Maps <c>/metrics</c>: no token (no authorization policy on the route), and no label that could hold a secret.</summary>
    public static WebApplication MapRoxyMetrics(this WebApplication app, ResolvedConfig config)
    {
        if (config.Raw.Metrics.Enabled)
        {
            app.MapPrometheusScrapingEndpoint(Path);
        }

        return app;
    }
}
