using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace Roxy.Grains.Tracing;

public static class TracingHosting
{
    /// <summary>The trace grains' store: a small pool of its own, since each grain writes once every few seconds at most.</summary>
    public static IServiceCollection AddRoxyTracing(this IServiceCollection services, string postgresConnectionString)
    {
        services.AddOptions<RequestTraceOptions>();
        services.TryAddSingleton(sp => new TraceMemory(sp.GetRequiredService<IOptions<RequestTraceOptions>>().Value.MemoryTraces));
        var pool = new NpgsqlConnectionStringBuilder(postgresConnectionString) { ConnectionIdleLifetime = 30 };
        pool.MaxPoolSize = Math.Min(pool.MaxPoolSize, 4);
        services.TryAddSingleton(sp => new RequestTraceStore(
            NpgsqlDataSource.Create(pool.ConnectionString), sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId));
        return services;
    }
}
