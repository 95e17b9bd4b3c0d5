using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Roxy.Grains.Tracing;

/// <summary>
/// The request trace table, <c>roxy_request_traces</c> (Sql/roxy-request-traces.sql). An insert is one statement per
/// <see cref="RequestTraceOptions.WriteBatchRows"/> rows (arrays through <c>unnest</c>); every read and delete names the
/// tenant, so one tenant's lookup can never return another's row. The counters let tests prove writes are batched.
/// </summary>
public sealed class RequestTraceStore(NpgsqlDataSource database, string serviceId) : IAsyncDisposable
{
    private long _writes;
    private long _rowsWritten;
    private long _reads;

    /// <summary>Insert statements run (each one round trip, whatever its rows).</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Rows those statements carried.</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    /// <summary>Lookups that reached the table.</summary>
    public long Reads => Interlocked.Read(ref _reads);

    public ValueTask DisposeAsync() => database.DisposeAsync();

    /// <summary>
    /// Inserts <paramref name="traces"/>, <paramref name="batchRows"/> per statement. A request id already stored keeps
    /// its row, so writing a batch again after a failure part-way through adds nothing twice.
    /// </summary>
    public async Task InsertAsync(string tenantId, IReadOnlyList<RequestTrace> traces, int batchRows, CancellationToken cancellationToken = default)
    {
        batchRows = Math.Max(1, batchRows);
        for (var start = 0; start < traces.Count; start += batchRows)
        {
            var count = Math.Min(batchRows, traces.Count - start);
            var ids = new string[count];
            var startedAt = new DateTime[count];
            // UTF-8 straight into jsonb: a string per trace cost twice the bytes and an encoding pass (a quarter of the
            // strings a busy frontend allocated was this method).
            var json = new byte[count][];
            for (var i = 0; i < count; i++)
            {
                var trace = traces[start + i];
                ids[i] = trace.RequestId;
                startedAt[i] = trace.StartedAt.UtcDateTime;
                json[i] = JsonSerializer.SerializeToUtf8Bytes(trace, RequestTraceJson.Default.RequestTrace);
            }

            await using var command = database.CreateCommand(
                """
                INSERT INTO roxy_request_traces (service_id, tenant_id, request_id, started_at, trace)
                SELECT $1, $2, r.id, r.started_at, r.trace FROM unnest($3::text[], $4::timestamptz[], $5::jsonb[]) AS r (id, started_at, trace)
                ON CONFLICT (service_id, tenant_id, request_id) DO NOTHING
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
            command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = startedAt, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter { Value = json, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
            Interlocked.Increment(ref _writes);
            await command.ExecuteNonQueryAsync(cancellationToken);
            Interlocked.Add(ref _rowsWritten, count);
        }
    }

    /// <summary>The tenant's stored trace of <paramref name="requestId"/>, or null: one primary-key read.</summary>
    public async Task<RequestTrace?> FindAsync(string tenantId, string requestId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        await using var command = database.CreateCommand(
            "SELECT trace::text FROM roxy_request_traces WHERE service_id = $1 AND tenant_id = $2 AND request_id = $3");
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = requestId });
        return await command.ExecuteScalarAsync(cancellationToken) is string json
            ? JsonSerializer.Deserialize(json, RequestTraceJson.Default.RequestTrace)
            : null;
    }

    /// <summary>
    /// Deletes the tenant's rows beyond its newest <paramref name="keep"/> and those started before
    /// <paramref name="olderThan"/>; returns how many.
    /// </summary>
    public async Task<int> PruneAsync(string tenantId, int keep, DateTimeOffset? olderThan, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand(
            """
            DELETE FROM roxy_request_traces
            WHERE service_id = $1 AND tenant_id = $2
              AND (seq <= (SELECT seq FROM roxy_request_traces WHERE service_id = $1 AND tenant_id = $2 ORDER BY seq DESC OFFSET $3 LIMIT 1)
                   OR started_at < $4)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = (long)Math.Max(0, keep) });
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = olderThan is { } t ? t.UtcDateTime : DBNull.Value,
            NpgsqlDbType = NpgsqlDbType.TimestampTz,
        });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Removes every row of the tenant (the tenant was deleted); returns how many.</summary>
    public async Task<int> DeleteTenantAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand("DELETE FROM roxy_request_traces WHERE service_id = $1 AND tenant_id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
