using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Roxy.Grains.Hosting;

namespace Roxy.Tests.Fixtures;

/// <summary>What a Roxy.Silo process runs, hosted in the test process on its own ports.</summary>
public static class SiloHost
{
    public static async Task<IHost> StartAsync(string postgres, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));
        var options = new RoxyClusterOptions
        {
            PostgresConnectionString = postgres,
            ClusterId = clusterId,
            SiloPort = FreePorts.Next(),
            GatewayPort = FreePorts.Next(),
        };
        builder.UseOrleans(silo => silo.UseRoxySilo(options));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public static async Task StopAsync(IHost host)
    {
        await host.StopAsync();
        host.Dispose();
    }
}
