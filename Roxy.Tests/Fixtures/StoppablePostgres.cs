using Npgsql;
using Roxy.Grains.Hosting;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// A private PostgreSQL server of one test, which the test may stop and start again on the same port: an outage as an
/// operator's <c>pg_ctl stop -m fast</c> makes it (connections closed, new ones refused). The shared
/// <see cref="PostgresServer"/> must never be stopped, since every other test class uses it.
/// </summary>
public sealed class StoppablePostgres : IAsyncDisposable
{
    private readonly string _binDir;
    private readonly string _dataDir;
    private readonly bool _asRoot;
    private readonly int _port;

    private StoppablePostgres(string binDir, string dataDir, bool asRoot, int port)
    {
        (_binDir, _dataDir, _asRoot, _port) = (binDir, dataDir, asRoot, port);
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "roxy",
            Pooling = true,
            MaxPoolSize = 50,
        }.ConnectionString;
    }

    /// <summary>The <c>roxy</c> database, with Roxy's schema.</summary>
    public string ConnectionString { get; }

    public bool Running { get; private set; }

    public static async Task<StoppablePostgres> StartAsync()
    {
        var binDir = PostgresServer.FindBinDirectory() ?? throw new InvalidOperationException("PostgreSQL binaries (initdb, pg_ctl) not found");
        var asRoot = Environment.UserName == "root";
        var dataDir = Path.Combine(Path.GetTempPath(), $"roxy-test-pg-{Guid.NewGuid():N}"[..25]);
        Directory.CreateDirectory(dataDir);
        if (asRoot)
        {
            await PostgresServer.RunAsync("chown", ["postgres:postgres", dataDir], asPostgres: false);
        }

        await PostgresServer.RunAsync(Path.Combine(binDir, "initdb"),
            ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"], asRoot);
        var server = new StoppablePostgres(binDir, dataDir, asRoot, PostgresServer.FreePort());
        // Removed with the test process even when it is killed (the shared server's watchdog, for this directory).
        PostgresServer.StartWatchdog(binDir, dataDir, asRoot);
        await server.StartAgainAsync();
        await using (var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = "postgres" }.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE DATABASE roxy TEMPLATE template0 ENCODING 'UTF8'", admin);
            await create.ExecuteNonQueryAsync();
        }

        await PostgresSchema.EnsureAsync(server.ConnectionString);
        return server;
    }

    /// <summary>Starts the server (again) on its port and waits until it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        var options = $"-p {_port} -h 127.0.0.1 -k {_dataDir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300";
        await PostgresServer.RunAsync(Path.Combine(_binDir, "pg_ctl"),
            ["-D", _dataDir, "-l", Path.Combine(_dataDir, "server.log"), "-w", "-t", "60", "-o", options, "start"], _asRoot, redirectOutput: false);
        Running = true;
    }

    /// <summary>Stops the server as an operator would: open connections are closed, new ones refused.</summary>
    public async Task StopAsync()
    {
        Running = false;
        await PostgresServer.RunAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", _dataDir, "-m", "fast", "-w", "stop"], _asRoot);
    }

    public ValueTask DisposeAsync()
    {
        PostgresServer.Stop(_binDir, _dataDir, _asRoot);
        return ValueTask.CompletedTask;
    }
}
