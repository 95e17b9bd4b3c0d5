using Npgsql;
using Orleans.TestingHost;
using Roxy.Grains.Hosting;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// Two in-process silos with Roxy's grain storage on a fresh PostgreSQL database, shared by a test class: the grains
/// as a silo runs them, without a frontend.
/// </summary>
public sealed class GrainClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public string Postgres { get; private set; } = null!;
    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        Postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("grains");
        var postgres = Postgres;
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) => silo.UseRoxyStorage(postgres));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    /// <summary>The JSON PostgreSQL holds for one grain's state (null when it has no row).</summary>
    public async Task<string?> StoredJsonAsync(string stateName, string key)
    {
        await using var connection = new NpgsqlConnection(Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT convert_from(payloadbinary, 'UTF8') FROM orleansstorage WHERE graintypestring = @type AND grainidextensionstring = @key", connection);
        command.Parameters.AddWithValue("type", stateName);
        command.Parameters.AddWithValue("key", key);
        return await command.ExecuteScalarAsync() as string;
    }

    public async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }
}
