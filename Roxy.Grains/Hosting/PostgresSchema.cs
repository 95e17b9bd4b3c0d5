using System.Reflection;
using Npgsql;

namespace Roxy.Grains.Hosting;

/// <summary>
/// Creates/updates the PostgreSQL schema Roxy needs (Orleans clustering + grain storage, and Roxy's own tables)
/// from the SQL scripts embedded under <c>Hosting/Sql</c>.
/// </summary>
public static class PostgresSchema
{
    // Arbitrary but fixed: every Roxy process must contend on the same key so that concurrent
    // starts apply the scripts one after another (concurrent CREATE ... IF NOT EXISTS / CREATE OR REPLACE
    // on the same object can fail with unique or "tuple concurrently updated" errors).
    private const long SchemaLockKey = 0x526F_7879_5363_6865; // "RoxySche"

    private const string ResourcePrefix = "Roxy.Grains.Hosting.Sql.";

    private static readonly Lazy<(string Name, string Sql)[]> Scripts = new(LoadScripts);

    /// <summary>Names of the embedded scripts, in the order they are applied.</summary>
    internal static IReadOnlyList<string> ScriptNames => Scripts.Value.Select(s => s.Name).ToArray();

    /// <summary>
    /// Applies every embedded script in ordinal name order, in one transaction, serialized across processes.
    /// Safe to call on every start: the scripts are idempotent.
    /// </summary>
    public static async Task EnsureAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        // DDL runs longer than a typical query; don't let a short app-level CommandTimeout abort a migration.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = 0 };

        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // Transaction-scoped lock: released by commit/rollback, so a crashed starter cannot leave it held.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", SchemaLockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var (_, sql) in Scripts.Value)
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Returns whether PostgreSQL answers <c>SELECT 1</c> within <paramref name="timeout"/>.
    /// Never throws for connectivity problems, because readiness probes must report, not crash.
    /// </summary>
    public static async Task<bool> PingAsync(string connectionString, TimeSpan timeout, CancellationToken ct)
    {
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(timeout);
        try
        {
            var seconds = (int)Math.Clamp(Math.Ceiling(timeout.TotalSeconds), 1, 1024);
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = seconds, CommandTimeout = seconds };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(timeoutCts.Token);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            return await command.ExecuteScalarAsync(timeoutCts.Token) is 1;
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            // Includes our own timeout firing and malformed connection strings: all mean "not ready".
            // Only the caller's own cancellation propagates.
            return false;
        }
    }

    private static (string Name, string Sql)[] LoadScripts()
    {
        var assembly = typeof(PostgresSchema).Assembly;
        var names = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (names.Length == 0)
        {
            throw new InvalidOperationException($"No embedded SQL scripts found under '{ResourcePrefix}' in {assembly.GetName().Name}.");
        }

        return names.Select(n => (n[ResourcePrefix.Length..], Read(assembly, n))).ToArray();
    }

    private static string Read(Assembly assembly, string resourceName)
    {
        using var stream = assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{resourceName}' not found.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
