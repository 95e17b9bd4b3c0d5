using System.Collections.Concurrent;
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
    // Grain calls the silos refuse, as a silo that died would: (grain id, method name).
    private readonly ConcurrentDictionary<(string Grain, string Method), bool> _refused = new();

    public InProcessTestCluster Cluster { get; private set; } = null!;
    public string Postgres { get; private set; } = null!;
    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        Postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("grains");
        var postgres = Postgres;
        var builder = new InProcessTestClusterBuilder(2);
        var refused = _refused;
        builder.ConfigureSilo((_, silo) => silo
            .UseRoxyStorage(postgres)
            .AddIncomingGrainCallFilter(context => refused.ContainsKey((context.TargetId.ToString(), context.MethodName))
                ? throw new InvalidOperationException($"{context.MethodName} refused by the test")
                : context.Invoke()));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    /// <summary>
    /// Until disposed, every call of <paramref name="method"/> on the grain fails before the grain sees it: what a
    /// caller meets when the grain's silo is gone.
    /// </summary>
    public IDisposable Refuse(GrainId grain, string method)
    {
        var key = (grain.ToString(), method);
        _refused[key] = true;
        return new Restore(() => _refused.TryRemove(key, out _));
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
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
