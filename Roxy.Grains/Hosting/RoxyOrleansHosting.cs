using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Roxy.Grains.Caching;
using Roxy.Grains.Hosting.Dashboard;
using Roxy.Grains.Tracing;
using Roxy.Grains.Usage;

namespace Roxy.Grains.Hosting;

/// <summary>
/// The one way a Roxy silo or client joins the cluster, used by Roxy.Silo, by Roxy.Api (co-hosted or as a
/// client) and by the tests, so membership and storage are configured identically everywhere.
/// </summary>
public static class RoxyOrleansHosting
{
    /// <summary>The ADO.NET provider invariant for PostgreSQL.</summary>
    public const string Invariant = "Npgsql";

    public static ISiloBuilder UseRoxySilo(this ISiloBuilder silo, RoxyClusterOptions options)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
        });
        silo.ConfigureEndpoints(
            options.AdvertiseAddress ?? IPAddress.Loopback,
            options.SiloPort,
            options.GatewayPort,
            listenOnAnyHostAddress: options.AdvertiseAddress is not null);
        silo.UseRoxyStorage(options.PostgresConnectionString);
        silo.Services.Configure<PromptCacheOptions>(o => o.MemoryBytes = options.CacheMemoryBytes);
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = options.PostgresConnectionString;
        });
        // Requests wait on a dead silo's grains until it is declared dead: probe every 2 s instead of 5 s, so a killed
        // silo (its probes fail at once) is out within a few seconds; three missed probes still tolerate GC pauses.
        silo.Configure<ClusterMembershipOptions>(o => o.ProbeTimeout = TimeSpan.FromSeconds(2));
        if (options.Dashboard.Enabled)
        {
            silo.AddRoxyDashboard();
        }

        return silo;
    }

    /// <summary>Grain storage, Roxy's own tables and the clock grains use; separate so test clusters can reuse it.</summary>
    public static ISiloBuilder UseRoxyStorage(this ISiloBuilder silo, string postgresConnectionString)
    {
        // Plain JSON rows: readable with convert_from(payloadbinary, 'UTF8') when operating the database.
        silo.UseSystemTextJsonGrainStorageSerializer();
        silo.AddAdoNetGrainStorage(RoxyStorage.Name, o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = postgresConnectionString;
        });
        StorageFailure.SerializeNpgsqlExceptions(silo.Services);
        silo.Services.TryAddSingleton(TimeProvider.System);
        silo.Services.TryAddSingleton(sp => new Tenancy.AuditLog(
            NpgsqlDataSource.Create(postgresConnectionString), sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId));
        AddPromptCache(silo.Services, postgresConnectionString);
        silo.Services.AddRoxyUsage(postgresConnectionString);
        silo.Services.AddRoxyTracing(postgresConnectionString);
        return silo;
    }

    private static void AddPromptCache(IServiceCollection services, string postgresConnectionString)
    {
        services.AddOptions<PromptCacheOptions>();
        // A pool of its own, kept small: a read or a write batch holds a connection for about a millisecond, so a few
        // serve thousands of lookups a second, and idle ones go back soon. Every silo has one; PostgreSQL's
        // max_connections is shared by all of them.
        var cachePool = new NpgsqlConnectionStringBuilder(postgresConnectionString) { ConnectionIdleLifetime = 30 };
        cachePool.MaxPoolSize = Math.Min(cachePool.MaxPoolSize, 10);
        services.TryAddSingleton(sp => new PromptCacheStore(
            NpgsqlDataSource.Create(cachePool.ConnectionString), sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId));
        services.TryAddSingleton(sp => new PromptCacheMemory(
            sp.GetRequiredService<IOptions<PromptCacheOptions>>().Value.MemoryBytes, sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<PromptCacheWriter>();
        services.TryAddSingleton<PromptCacheSweeper>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<PromptCacheWriter>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<PromptCacheSweeper>());
    }

    public static IClientBuilder UseRoxyClient(this IClientBuilder client, RoxyClusterOptions options)
    {
        client.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
        });
        client.UseAdoNetClustering(o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = options.PostgresConnectionString;
        });
        StorageFailure.SerializeNpgsqlExceptions(client.Services);
        // A frontend must find new silos quickly during a rolling restart, not after the default minute.
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
        return client;
    }
}
