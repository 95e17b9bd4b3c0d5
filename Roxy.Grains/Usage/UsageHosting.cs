using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace Roxy.Grains.Usage;

public static class UsageHosting
{
    /// <summary>The usage grains' store: a small pool of its own, since each grain writes once every few seconds at most.</summary>
    public static IServiceCollection AddRoxyUsage(this IServiceCollection services, string postgresConnectionString)
    {
        var pool = new NpgsqlConnectionStringBuilder(postgresConnectionString) { ConnectionIdleLifetime = 30 };
        pool.MaxPoolSize = Math.Min(pool.MaxPoolSize, 4);
        services.TryAddSingleton(sp => new UsageStore(
            NpgsqlDataSource.Create(pool.ConnectionString), sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId));
        return services;
    }
}
