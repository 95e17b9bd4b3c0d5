using Npgsql;
using Orleans.TestingHost;
using Roxy.Grains.Hosting;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

public sealed class PostgresSchemaTests
{
    private const string ServiceId = "roxy-test";

    [Fact]
    public async Task Ensure_IsIdempotent_WhenAppliedTwice()
    {
        var server = await PostgresServer.GetAsync();
        var cs = await server.CreateDatabaseAsync("schema_twice"); // first application

        await PostgresSchema.EnsureAsync(cs);
        await PostgresSchema.EnsureAsync(cs);

        Assert.Contains("CleanupDefunctSiloEntryKey", await QueryKeysAsync(cs));
    }

    [Fact]
    public async Task Ensure_Serializes_ConcurrentStarts()
    {
        var server = await PostgresServer.GetAsync();
        var cs = await CreateEmptyDatabaseAsync(server, "schema_concurrent");

        // Separate pools per task so every call really races on its own connection.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() =>
            PostgresSchema.EnsureAsync(new NpgsqlConnectionStringBuilder(cs) { ApplicationName = $"ensure-{i}" }.ConnectionString))));

        var keys = await QueryKeysAsync(cs);
        string[] expected =
        [
            "UpdateIAmAlivetimeKey", "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey",
            "MembershipReadRowKey", "MembershipReadAllKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey",
            "CleanupDefunctSiloEntriesKey", "CleanupDefunctSiloEntryKey",
            "WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey",
        ];
        Assert.All(expected, k => Assert.Contains(k, keys));
    }

    [Fact]
    public async Task Ping_ReturnsFalse_WhenUnreachable()
    {
        var server = await PostgresServer.GetAsync();
        Assert.True(await PostgresSchema.PingAsync(server.AdminConnectionString, TimeSpan.FromSeconds(5), CancellationToken.None));
        // Port 1 on loopback: nothing listens there, so the connect is refused immediately.
        Assert.False(await PostgresSchema.PingAsync("Host=127.0.0.1;Port=1;Username=postgres;Database=postgres", TimeSpan.FromSeconds(2), CancellationToken.None));
    }

    [Fact]
    public async Task OrleansCluster_UsesPostgres_ForMembershipAndGrainState()
    {
        var server = await PostgresServer.GetAsync();
        var cs = await server.CreateDatabaseAsync("schema_cluster");
        var clusterId = $"roxy-{Guid.NewGuid():N}";

        var builder = new InProcessTestClusterBuilder(2);
        builder.Options.ServiceId = ServiceId;
        builder.Options.ClusterId = clusterId;
        UseRealMembership(builder.Options);
        builder.ConfigureSilo((_, silo) => silo
            .UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = cs; })
            .AddAdoNetGrainStorage("roxy", o => { o.Invariant = "Npgsql"; o.ConnectionString = cs; })
            .UseSystemTextJsonGrainStorageSerializer());
        builder.ConfigureClient(client => client
            .UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = cs; }));

        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        var grain = cluster.Client.GetGrain<ISchemaProbeGrain>("probe-1");
        await grain.SetAsync("hello");
        await grain.SetAsync("hello again"); // second write exercises the etag/UPDATE path
        await cluster.DeactivateAsync(grain);

        var state = await grain.GetAsync();
        Assert.Equal("hello again", state.Value);
        Assert.Equal(2, state.Writes);

        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();

        await using (var payload = new NpgsqlCommand(
            "SELECT convert_from(PayloadBinary, 'UTF8'), Version FROM OrleansStorage WHERE ServiceId = @s", connection))
        {
            payload.Parameters.AddWithValue("s", ServiceId);
            await using var reader = await payload.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Contains("\"hello again\"", reader.GetString(0), StringComparison.Ordinal); // JSON, not Orleans binary
            Assert.Equal(2, reader.GetInt32(1));
            Assert.False(await reader.ReadAsync());
        }

        await using (var members = new NpgsqlCommand(
            "SELECT count(*) FROM OrleansMembershipTable WHERE DeploymentId = @c AND Status = @active", connection))
        {
            members.Parameters.AddWithValue("c", clusterId);
            members.Parameters.AddWithValue("active", (int)SiloStatus.Active);
            Assert.Equal(2L, await members.ExecuteScalarAsync());
        }

        await cluster.StopAllSilosAsync();
    }

    [Fact]
    public async Task StoredQueries_NotHitByTheClusterTest_StillExecute()
    {
        // Cleanup/delete/clear only run on long-lived or failing clusters; bind them the way the providers do
        // (named parameters, CLR types) so a typo in a rarely used query fails here, not in production.
        var server = await PostgresServer.GetAsync();
        var cs = await server.CreateDatabaseAsync("schema_queries");
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        var queries = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var load = new NpgsqlCommand("SELECT QueryKey, QueryText FROM OrleansQuery", connection))
        await using (var reader = await load.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                queries[reader.GetString(0)] = reader.GetString(1);
            }
        }

        async Task<object?> Run(string key, params (string Name, object? Value)[] args)
        {
            await using var command = new NpgsqlCommand(queries[key], connection);
            foreach (var (name, value) in args)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            return await command.ExecuteScalarAsync();
        }

        var now = DateTime.UtcNow;
        // Whole milliseconds: the columns keep milliseconds (rounded), and the per-row cleanup matches exactly.
        var old = TruncateToMs(now.AddHours(-2));
        (string, object?)[] silo = [("DeploymentId", "c1"), ("Address", "127.0.0.1"), ("Port", 11111), ("Generation", 7)];

        Assert.Equal(1, await Run("InsertMembershipVersionKey", ("DeploymentId", "c1")));
        Assert.Equal(0, await Run("InsertMembershipVersionKey", ("DeploymentId", "c1")));
        Assert.Equal(1, await Run("InsertMembershipKey", [.. silo, ("SiloName", "s"), ("HostName", "h"), ("Status", (int)SiloStatus.Joining),
            ("ProxyPort", 30000), ("StartTime", old), ("IAmAliveTime", old), ("Version", 0)]));
        Assert.Equal(0, await Run("InsertMembershipKey", [.. silo, ("SiloName", "s"), ("HostName", "h"), ("Status", (int)SiloStatus.Joining),
            ("ProxyPort", 30000), ("StartTime", old), ("IAmAliveTime", old), ("Version", 0)])); // stale etag
        Assert.Equal(0, await Run("UpdateMembershipKey", [.. silo, ("Status", (int)SiloStatus.Dead), ("SuspectTimes", null), ("IAmAliveTime", old), ("Version", 0)]));
        Assert.Equal(1, await Run("UpdateMembershipKey", [.. silo, ("Status", (int)SiloStatus.Dead), ("SuspectTimes", null), ("IAmAliveTime", old), ("Version", 1)]));
        await Run("UpdateIAmAlivetimeKey", [.. silo, ("IAmAliveTime", old.AddMinutes(-1))]); // must not move backwards
        await Run("GatewaysQueryKey", ("DeploymentId", "c1"), ("Status", (int)SiloStatus.Active));

        // Per-row cleanup only deletes the exact row it read.
        await Run("CleanupDefunctSiloEntryKey", [.. silo, ("IAmAliveTime", old.AddSeconds(1)), ("StartTime", old), ("SuspectTimes", null)]);
        Assert.Equal(1L, await Count("OrleansMembershipTable"));
        await Run("CleanupDefunctSiloEntryKey", [.. silo, ("IAmAliveTime", TruncateToMs(old)), ("StartTime", TruncateToMs(old)), ("SuspectTimes", null)]);
        Assert.Equal(0L, await Count("OrleansMembershipTable"));
        await Run("CleanupDefunctSiloEntriesKey", ("DeploymentId", "c1"), ("IAmAliveTime", now));
        await Run("DeleteMembershipTableEntriesKey", ("DeploymentId", "c1"));
        Assert.Equal(0L, await Count("OrleansMembershipVersionTable"));

        (string, object?)[] grain = [("GrainIdHash", 42), ("GrainIdN0", 1L), ("GrainIdN1", 2L), ("GrainTypeHash", 43),
            ("GrainTypeString", "probe"), ("GrainIdExtensionString", null), ("ServiceId", ServiceId)];
        Assert.Equal(1, await Run("WriteToStorageKey", [.. grain, ("GrainStateVersion", null), ("PayloadBinary", "{}"u8.ToArray())]));
        Assert.Equal(DBNull.Value, await Run("WriteToStorageKey", [.. grain, ("GrainStateVersion", null), ("PayloadBinary", "{}"u8.ToArray())])); // lost first-write race
        Assert.Equal(2, await Run("WriteToStorageKey", [.. grain, ("GrainStateVersion", 1), ("PayloadBinary", "{}"u8.ToArray())]));
        Assert.Equal(1, await Run("WriteToStorageKey", [.. grain, ("GrainStateVersion", 1), ("PayloadBinary", "{}"u8.ToArray())])); // stale etag: caller's version echoed back
        Assert.Equal(3, await Run("ClearStorageKey", [.. grain, ("GrainStateVersion", 2)]));
        Assert.Equal(DBNull.Value, await Run("ReadFromStorageKey", grain)); // row kept, payload cleared

        async Task<long> Count(string table)
        {
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
            return (long)(await command.ExecuteScalarAsync())!;
        }

        static DateTime TruncateToMs(DateTime value) => new(value.Ticks - value.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
    }

    // InProcessTestClusterOptions.UseTestClusterMembership is internal in 10.4.2 and defaults to true, in which
    // case the cluster registers its in-memory membership table/gateway list *after* our configuration and
    // silently wins over ADO.NET clustering. Flip it so the silos really go through OrleansMembershipTable.
    private static void UseRealMembership(InProcessTestClusterOptions options)
    {
        var property = typeof(InProcessTestClusterOptions).GetProperty(
            "UseTestClusterMembership", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public)
            ?? throw new InvalidOperationException("InProcessTestClusterOptions.UseTestClusterMembership not found; Orleans.TestingHost changed.");
        property.SetValue(options, false);
    }

    private static async Task<string> CreateEmptyDatabaseAsync(PostgresServer server, string prefix)
    {
        // CreateDatabaseAsync already applies the schema; drop Orleans' objects so the race starts from scratch.
        var cs = await server.CreateDatabaseAsync(prefix);
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var reset = new NpgsqlCommand("DROP SCHEMA public CASCADE; CREATE SCHEMA public;", connection);
        await reset.ExecuteNonQueryAsync();
        return cs;
    }

    private static async Task<HashSet<string>> QueryKeysAsync(string cs)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT QueryKey FROM OrleansQuery", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }
}
