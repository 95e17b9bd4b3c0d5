using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Orleans.TestingHost;
using Roxy.Grains.Hosting;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>
/// Two in-process silos on a fresh PostgreSQL database sharing one fake clock, for the budget grains: windows roll over
/// and the save timer fires when a test advances <see cref="Time"/>. Each test uses budget keys of its own.
/// </summary>
public sealed class BudgetClusterFixture : IAsyncLifetime
{
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 5, 30, 12, 0, 0, TimeSpan.Zero));
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public string Postgres { get; private set; } = null!;
    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        Postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("budgets");
        var postgres = Postgres;
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<TimeProvider>(Time);
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

    /// <summary>The JSON PostgreSQL holds for one budget grain (null when it has no row).</summary>
    public async Task<string?> StoredAsync(string key)
    {
        await using var connection = new NpgsqlConnection(Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT convert_from(payloadbinary, 'UTF8') FROM orleansstorage WHERE graintypestring = 'budget' AND grainidextensionstring = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        return await command.ExecuteScalarAsync() as string;
    }
}

[CollectionDefinition(Name)]
public sealed class BudgetClusterGroup : ICollectionFixture<BudgetClusterFixture>
{
    public const string Name = "budget-cluster";
}
