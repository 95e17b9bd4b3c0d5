using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Roxy.Grains.Caching;

/// <summary>
/// The prompt cache's PostgreSQL table, <c>roxy_prompt_cache</c> (Sql/roxy-prompt-cache.sql). Every statement is one
/// round trip; the counters let tests prove a warm hit reads nothing and a miss reads once.
/// </summary>
public sealed class PromptCacheStore(NpgsqlDataSource database, string serviceId) : IAsyncDisposable
{
    /// <summary>Rows one background UPDATE or DELETE touches: short transactions, no long lock on the table.</summary>
    public const int ChunkRows = 1000;

    private long _reads;
    private long _writes;
    private long _writeBatches;
    private long _deletes;

    public string ServiceId => serviceId;

    /// <summary>Entry reads (one query each).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>Rows upserted.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Write round trips (each a batch of up to <see cref="PromptCacheOptions.WriteBatchRows"/> rows).</summary>
    public long WriteBatches => Interlocked.Read(ref _writeBatches);

    /// <summary>Rows deleted by sweeps.</summary>
    public long Deletes => Interlocked.Read(ref _deletes);

    public ValueTask DisposeAsync() => database.DisposeAsync();

    /// <summary>
    /// The entry under <paramref name="keyHash"/> if it has not expired at <paramref name="now"/>: one primary-key read.
    /// The caller's <paramref name="cancellationToken"/> is its deadline (<see cref="PromptCacheOptions.ReadTimeout"/>).
    /// </summary>
    public async Task<StoredEntry?> ReadAsync(string tenantId, string keyHash, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var hash = HashBytes(keyHash);
        Interlocked.Increment(ref _reads);
        await using var command = database.CreateCommand(
            "SELECT expires_at, entry FROM roxy_prompt_cache WHERE service_id = $1 AND tenant_id = $2 AND key_hash = $3 AND expires_at > $4");
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = hash });
        command.Parameters.Add(new NpgsqlParameter { Value = now.ToUniversalTime() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var expiresAt = reader.GetFieldValue<DateTimeOffset>(0);
        var entry = JsonSerializer.Deserialize(reader.GetFieldValue<byte[]>(1), PromptCacheJson.Default.CachedCompletion)
            ?? throw new JsonException("a prompt cache row holds JSON null");
        return new StoredEntry(entry, expiresAt);
    }

    /// <summary>Upserts <paramref name="rows"/> in one round trip; a key stored twice keeps the last.</summary>
    public async Task WriteAsync(IReadOnlyList<PromptCacheRow> rows, CancellationToken cancellationToken = default)
    {
        if (rows.Count == 0)
        {
            return;
        }

        // One command per row in one batch, not one multi-row INSERT: ON CONFLICT cannot touch a row twice in a
        // statement, and the same key may be stored twice within a batch.
        await using var batch = database.CreateBatch();
        foreach (var row in rows)
        {
            var command = new NpgsqlBatchCommand(
                """
                INSERT INTO roxy_prompt_cache
                    (service_id, tenant_id, key_hash, generation, requested_model, rule_fingerprint, expires_at, created_at, bytes, entry)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                ON CONFLICT (service_id, tenant_id, key_hash) DO UPDATE SET
                    generation = excluded.generation, requested_model = excluded.requested_model,
                    rule_fingerprint = excluded.rule_fingerprint, expires_at = excluded.expires_at,
                    created_at = excluded.created_at, bytes = excluded.bytes, entry = excluded.entry
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
            command.Parameters.Add(new NpgsqlParameter { Value = row.Key.TenantId });
            command.Parameters.Add(new NpgsqlParameter { Value = HashBytes(row.Key.KeyHash) });
            command.Parameters.Add(new NpgsqlParameter { Value = row.Key.Generation });
            command.Parameters.Add(new NpgsqlParameter { Value = row.Key.RequestedModel });
            command.Parameters.Add(new NpgsqlParameter { Value = row.Key.RuleFingerprint });
            command.Parameters.Add(new NpgsqlParameter { Value = row.ExpiresAt.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter { Value = row.CreatedAt.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter { Value = row.Entry.Length });
            command.Parameters.Add(new NpgsqlParameter { Value = row.Entry });
            batch.BatchCommands.Add(command);
        }

        Interlocked.Increment(ref _writeBatches);
        await batch.ExecuteNonQueryAsync(cancellationToken);
        Interlocked.Add(ref _writes, rows.Count);
    }

    /// <summary>
    /// After a clear: every row of the tenant below <paramref name="generation"/> expires now, so the sweeper removes
    /// it. Runs in chunks of <see cref="ChunkRows"/>; returns the rows expired.
    /// </summary>
    public Task<long> ExpireGenerationsBelowAsync(string tenantId, long generation, CancellationToken cancellationToken = default) =>
        ExpireInChunksAsync(
            "service_id = $1 AND tenant_id = $2 AND generation < $3",
            command =>
            {
                command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
                command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
                command.Parameters.Add(new NpgsqlParameter { Value = generation });
            },
            cancellationToken);

    /// <summary>
    /// After a rule change: every row made for <paramref name="requestedModel"/> under another fingerprint than
    /// <paramref name="currentFingerprint"/> (all of them when null) expires now. Chunked; returns the rows expired.
    /// </summary>
    public Task<long> ExpireRuleAsync(string tenantId, string requestedModel, string? currentFingerprint, CancellationToken cancellationToken = default) =>
        ExpireInChunksAsync(
            "service_id = $1 AND tenant_id = $2 AND requested_model = $3 AND ($4::text IS NULL OR rule_fingerprint <> $4::text)",
            command =>
            {
                command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
                command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
                command.Parameters.Add(new NpgsqlParameter { Value = requestedModel });
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)currentFingerprint ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            },
            cancellationToken);

    /// <summary>Deletes up to <paramref name="limit"/> rows expired at <paramref name="now"/>, oldest expiry first; returns how many.</summary>
    public async Task<int> DeleteExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        // SKIP LOCKED: several silos sweep at once without waiting on each other's rows.
        await using var command = database.CreateCommand(
            """
            DELETE FROM roxy_prompt_cache WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM roxy_prompt_cache WHERE service_id = $1 AND expires_at <= $2
                ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED))
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = now.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
        Interlocked.Add(ref _deletes, deleted);
        return deleted;
    }

    /// <summary>
    /// After the tenant was deleted: every row of it goes, <see cref="ChunkRows"/> at a time so no transaction holds the
    /// table long. Returns the rows deleted.
    /// </summary>
    public async Task<long> DeleteTenantAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        long total = 0;
        while (true)
        {
            // SKIP LOCKED like the sweeper: a row the writer holds is left to its TTL (its key's generation is gone).
            await using var command = database.CreateCommand(
                $"""
                DELETE FROM roxy_prompt_cache WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM roxy_prompt_cache WHERE service_id = $1 AND tenant_id = $2
                    LIMIT {ChunkRows} FOR UPDATE SKIP LOCKED))
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
            command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            if (deleted == 0)
            {
                return total;
            }

            total += deleted;
            Interlocked.Add(ref _deletes, deleted);
        }
    }

    /// <summary>The entries and their stored bytes under <paramref name="generation"/> not expired at <paramref name="now"/>.</summary>
    public async Task<(long Entries, long Bytes)> CountAsync(string tenantId, long generation, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand(
            "SELECT count(*), coalesce(sum(bytes), 0)::bigint FROM roxy_prompt_cache WHERE service_id = $1 AND tenant_id = $2 AND generation = $3 AND expires_at > $4");
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = generation });
        command.Parameters.Add(new NpgsqlParameter { Value = now.ToUniversalTime() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The key hash as stored: 32 bytes from its 64 hex digits.</summary>
    public static byte[] HashBytes(string keyHash)
    {
        if (keyHash.Length != 64)
        {
            throw new ArgumentException($"A prompt cache key hash has 64 hex digits, not {keyHash.Length}.", nameof(keyHash));
        }

        return Convert.FromHexString(keyHash);
    }

    private async Task<long> ExpireInChunksAsync(string where, Action<NpgsqlCommand> bind, CancellationToken cancellationToken)
    {
        // '-infinity' rather than DELETE: one small UPDATE per chunk now, and the sweeper's batched deletes through the
        // expiry index do the rest. Each chunk finds its rows through the partial indexes of live rows, so it skips
        // what earlier chunks expired instead of rescanning the tenant. SKIP LOCKED: a chunk never waits on (or
        // deadlocks with) the writer's batch; a row the writer holds is left to its TTL, which is harmless because
        // its key is unreachable after the clear or rule change anyway. Under SKIP LOCKED a short chunk proves
        // nothing, so this stops at the first empty one.
        var sql = $"""
            UPDATE roxy_prompt_cache SET expires_at = '-infinity' WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM roxy_prompt_cache WHERE {where} AND expires_at > '-infinity'
                LIMIT {ChunkRows} FOR UPDATE SKIP LOCKED))
            """;
        long total = 0;
        while (true)
        {
            await using var command = database.CreateCommand(sql);
            bind(command);
            var changed = await command.ExecuteNonQueryAsync(cancellationToken);
            if (changed == 0)
            {
                return total;
            }

            total += changed;
        }
    }
}
