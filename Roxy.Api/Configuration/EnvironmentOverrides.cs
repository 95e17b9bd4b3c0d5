namespace Roxy.Api.Configuration;

/// <summary>Environment variables that override YAML settings, applied after the file is read.</summary>
internal static class EnvironmentOverrides
{
    private static readonly (string Variable, string Path, Func<RoxyConfig, object> Target, string Property)[] Table =
    [
        ("ROXY_LISTEN_ADDR", "listen_addr", c => c, nameof(RoxyConfig.ListenAddr)),
        ("ROXY_SILO_PORT", "cluster.silo_port", c => c.Cluster, nameof(ClusterConfig.SiloPort)),
        ("ROXY_GATEWAY_PORT", "cluster.gateway_port", c => c.Cluster, nameof(ClusterConfig.GatewayPort)),
        ("ROXY_CLUSTER_MODE", "cluster.mode", c => c.Cluster, nameof(ClusterConfig.Mode)),
        ("ROXY_ADVERTISE_ADDRESS", "cluster.advertise_address", c => c.Cluster, nameof(ClusterConfig.AdvertiseAddress)),
        ("ROXY_CLUSTER_ID", "cluster.cluster_id", c => c.Cluster, nameof(ClusterConfig.ClusterId)),
        ("ROXY_DASHBOARD", "cluster.dashboard.enabled", c => c.Cluster.Dashboard, nameof(DashboardConfig.Enabled)),
        ("ROXY_DASHBOARD_PORT", "cluster.dashboard.port", c => c.Cluster.Dashboard, nameof(DashboardConfig.Port)),
        ("ROXY_DASHBOARD_HOST", "cluster.dashboard.host", c => c.Cluster.Dashboard, nameof(DashboardConfig.Host)),
        ("ROXY_STARTUP_WAIT_SEC", "server.startup_wait_sec", c => c.Server, nameof(ServerConfig.StartupWaitSec)),
        ("ROXY_LOG_FORMAT", "logging.format", c => c.Logging, nameof(LoggingConfig.Format)),
    ];

    public static IEnumerable<string> Variables => Table.Select(t => t.Variable);

    /// <summary>Applies every set, non-empty override; bad values are reported like YAML errors, located at the variable.</summary>
    public static void Apply(RoxyConfig config, IReadOnlyDictionary<string, string?> environment, YamlBinder binder)
    {
        foreach (var (variable, path, target, property) in Table)
        {
            if (environment.TryGetValue(variable, out var raw) && !string.IsNullOrWhiteSpace(raw))
            {
                binder.BindOverride(target(config), property, raw.Trim(), path, $"env {variable}");
            }
        }
    }
}
