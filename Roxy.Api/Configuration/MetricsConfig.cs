namespace Roxy.Api.Configuration;

/// <summary>The OpenTelemetry metrics scraped at <c>/metrics</c>; off, no instrument records and the route is not mapped.</summary>
public sealed class MetricsConfig
{
    public bool Enabled { get; set; } = true;
}
