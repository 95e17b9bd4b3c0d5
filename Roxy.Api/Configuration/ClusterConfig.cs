namespace Roxy.Api.Configuration;

/// <summary>Orleans hosting: co-hosted single process or a cluster of silos and frontends.</summary>
public sealed class ClusterConfig
{
    [OneOf("single", "cluster")]
    public string Mode { get; set; } = "single";

    [RangeRule(1, 65535, Expectation = "a port number 1-65535")]
    public int SiloPort { get; set; } = 11111;

    [RangeRule(1, 65535, Expectation = "a port number 1-65535")]
    public int GatewayPort { get; set; } = 30000;

    public string ClusterId { get; set; } = "roxy";

    public string ServiceId { get; set; } = "roxy";

    public string? AdvertiseAddress { get; set; }

    public DashboardConfig Dashboard { get; set; } = new();
}
