using Npgsql;

namespace Roxy.Grains.Tenancy;

/// <summary>
/// The tenants' audit log in its own PostgreSQL table (<c>roxy_audit</c>): a change costs one small insert instead
/// of rewriting the tenant's row with its whole history, and there is no cap that churning changes could flush.
/// </summary>
public sealed class AuditLog(NpgsqlDataSource database, string serviceId) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => database.DisposeAsync();

    public async Task AppendAsync(string tenantId, IReadOnlyList<AuditEntry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        await using var batch = database.CreateBatch();
        foreach (var entry in entries)
        {
            var command = new NpgsqlBatchCommand(
                "INSERT INTO roxy_audit (service_id, tenant_id, time, token_id, channel, action) VALUES ($1, $2, $3, $4, $5, $6)");
            command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
            command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            command.Parameters.Add(new NpgsqlParameter { Value = entry.Time.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter { Value = entry.TokenId });
            command.Parameters.Add(new NpgsqlParameter { Value = entry.Channel });
            command.Parameters.Add(new NpgsqlParameter { Value = entry.Action });
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync();
    }

    /// <summary>Removes every entry of the tenant (it was deleted: a tenant created later under its id starts with none).</summary>
    public async Task DeleteTenantAsync(string tenantId)
    {
        await using var command = database.CreateCommand("DELETE FROM roxy_audit WHERE service_id = $1 AND tenant_id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The newest <paramref name="count"/> entries, newest first.</summary>
    public async Task<IReadOnlyList<AuditEntry>> ReadAsync(string tenantId, int count)
    {
        await using var command = database.CreateCommand(
            "SELECT time, token_id, channel, action FROM roxy_audit WHERE service_id = $1 AND tenant_id = $2 ORDER BY id DESC LIMIT $3");
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = Math.Max(count, 0) });
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(new AuditEntry(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return entries;
    }
}
