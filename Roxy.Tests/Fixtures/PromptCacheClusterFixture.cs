using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Orleans.TestingHost;
using Roxy.Grains.Caching;
using Roxy.Grains.Hosting;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// Two in-process silos on a fresh PostgreSQL database sharing one fake clock, for the prompt cache's grains: entries
/// expire when a test advances <see cref="Time"/>. The sweeper's own timer is pushed out of the way; tests sweep.
/// Shards here never trust what they know is absent (a lease of zero), so every miss reads as these tests count;
/// <see cref="PromptCacheAbsenceFixture"/> has a lease instead.
/// </summary>
public class PromptCacheClusterFixture : IAsyncLifetime
{
    /// <summary>How long a shard trusts its knowledge of absent keys, on <see cref="Time"/>.</summary>
    protected virtual TimeSpan AbsenceLease => TimeSpan.Zero;

    /// <summary>The database's name prefix.</summary>
    protected virtual string Database => "promptcache";

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    public CapturedLogs Logs { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public string Postgres { get; private set; } = null!;
    public IGrainFactory Grains => Cluster.Client;

    /// <summary>Each silo's store, memory tier and sweeper.</summary>
    public IEnumerable<IServiceProvider> SiloServices => Cluster.Silos.Select(s => s.ServiceProvider);

    public long Reads => SiloServices.Sum(s => s.GetRequiredService<PromptCacheStore>().Reads);

    public PromptCacheStore Store => SiloServices.First().GetRequiredService<PromptCacheStore>();

    public async Task InitializeAsync()
    {
        Postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync(Database);
        var postgres = Postgres;
        var lease = AbsenceLease;
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<TimeProvider>(Time);
            silo.Services.AddSingleton<ILoggerProvider>(Logs);
            silo.Services.Configure<PromptCacheOptions>(o =>
            {
                o.SweepInterval = TimeSpan.FromHours(1);
                o.AbsenceLease = lease;
            });
            silo.UseRoxyStorage(postgres);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    /// <summary>Every silo forgets its memory tier, as after a restart: what survives is in PostgreSQL.</summary>
    public void ForgetMemory()
    {
        foreach (var services in SiloServices)
        {
            services.GetRequiredService<PromptCacheMemory>().Clear();
        }
    }

    public async Task<long> ScalarAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Deactivates every idle grain, as when a shard moves: the next call activates it afresh.</summary>
    public Task DeactivateAllAsync() => Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    public Task<long> RowsAsync(string tenantId) =>
        ScalarAsync("SELECT count(*) FROM roxy_prompt_cache WHERE tenant_id = $1", tenantId);

    public Task<long> ReachableRowsAsync(string tenantId) =>
        ScalarAsync("SELECT count(*) FROM roxy_prompt_cache WHERE tenant_id = $1 AND expires_at > $2", tenantId, Time.GetUtcNow());
}

/// <summary>One prompt cache cluster for every prompt cache grain test class: they run one after another on its clock.</summary>
[CollectionDefinition(Name)]
public sealed class PromptCacheClusterGroup : ICollectionFixture<PromptCacheClusterFixture>
{
    public const string Name = "prompt-cache-cluster";
}

/// <summary>The prompt cache cluster with a 10 s absence lease on the fake clock: shards skip reads once trusted.</summary>
public sealed class PromptCacheAbsenceFixture : PromptCacheClusterFixture
{
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);

    protected override TimeSpan AbsenceLease => Lease;

    protected override string Database => "promptcacheabsence";
}

[CollectionDefinition(Name)]
public sealed class PromptCacheAbsenceGroup : ICollectionFixture<PromptCacheAbsenceFixture>
{
    public const string Name = "prompt-cache-absence";
}
