namespace Roxy.Api.Configuration;

/// <summary>
/// The Orleans dashboard of this process's silo (<c>cluster.dashboard</c>): off by default; when on, served under
/// <c>/dashboard/</c> on its own port, on loopback unless <c>host</c> says otherwise.
/// </summary>
public sealed class DashboardConfig
{
    public bool Enabled { get; set; }

    [RangeRule(1, 65535, Expectation = "a port number 1-65535")]
    public int Port { get; set; } = Grains.Hosting.Dashboard.RoxyDashboardOptions.DefaultPort;

    public string Host { get; set; } = Grains.Hosting.Dashboard.RoxyDashboardOptions.DefaultHost;
}
