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
    private long _fenced;
    private long _epochQueries;
    private long _keyLoads;

    public string ServiceId => serviceId;

    /// <summary>Entry reads (one query each).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>Rows upserted.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Write round trips (each a batch of up to <see cref="PromptCacheOptions.WriteBatchRows"/> rows).</summary>
    public long WriteBatches => Interlocked.Read(ref _writeBatches);

    /// <summary>Rows refused because the activation that stored them was superseded.</summary>
    public long Fenced => Interlocked.Read(ref _fenced);

    /// <summary>Epoch bumps, lease renewals and releases (one small primary-key statement each).</summary>
    public long EpochQueries => Interlocked.Read(ref _epochQueries);

    /// <summary>Reads of a shard's live keys (one per activation).</summary>
    public long KeyLoads => Interlocked.Read(ref _keyLoads);

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

    /// <summary>
    /// Upserts <paramref name="rows"/> in one round trip; a key stored twice keeps the last. Returns the rows refused
    /// because their shard activation was superseded (<see cref="PromptCacheShard"/>).
    /// </summary>
    public async Task<int> WriteAsync(IReadOnlyList<PromptCacheRow> rows, CancellationToken cancellationToken = default)
    {
        if (rows.Count == 0)
        {
            return 0;
        }

        // One command per row in one batch, not one multi-row INSERT: ON CONFLICT cannot touch a row twice in a
        // statement, and the same key may be stored twice within a batch. A shard's row goes in only while its epoch
        // is the storing activation's: FOR SHARE waits for a bump in progress and re-checks the epoch after it.
        await using var batch = database.CreateBatch();
        foreach (var row in rows)
        {
            var command = new NpgsqlBatchCommand(row.Shard is null ? UnfencedUpsert : FencedUpsert);
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
            if (row.Shard is { } shard)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = shard.Id });
                command.Parameters.Add(new NpgsqlParameter { Value = shard.Epoch });
            }

            batch.BatchCommands.Add(command);
        }

        Interlocked.Increment(ref _writeBatches);
        await batch.ExecuteNonQueryAsync(cancellationToken);
        var written = 0;
        foreach (var command in batch.BatchCommands)
        {
            written += command.RecordsAffected > 0 ? 1 : 0;
        }

        Interlocked.Add(ref _writes, written);
        Interlocked.Add(ref _fenced, rows.Count - written);
        return rows.Count - written;
    }

    /// <summary>
    /// A shard activation's start: bumps the shard's epoch and records its lease (one statement, its own transaction),
    /// so that from its commit no older activation's row can land. Returns the new epoch and how long the previous
    /// activation's lease still runs (zero when it let go or lapsed): this one neither trusts nor writes before then.
    /// </summary>
    public async Task<(long Epoch, TimeSpan PreviousLease)> BumpEpochAsync(string shard, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        await using (var create = database.CreateCommand(
            "INSERT INTO roxy_prompt_cache_shard (service_id, shard, epoch, lease_until) VALUES ($1, $2, 0, '-infinity') ON CONFLICT DO NOTHING"))
        {
            create.Parameters.Add(new NpgsqlParameter { Value = serviceId });
            create.Parameters.Add(new NpgsqlParameter { Value = shard });
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        // The prior lease is read under the row lock (FOR UPDATE re-reads it after a concurrent bump commits), so two
        // activations starting at once see each other's lease, not a stale one.
        await using var command = database.CreateCommand(
            """
            UPDATE roxy_prompt_cache_shard s SET epoch = s.epoch + 1, lease_until = now() + $3
            FROM (SELECT lease_until AS prior FROM roxy_prompt_cache_shard WHERE service_id = $1 AND shard = $2 FOR UPDATE) p
            WHERE s.service_id = $1 AND s.shard = $2
            RETURNING s.epoch, CASE WHEN p.prior > now() THEN p.prior - now() ELSE interval '0' END
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = shard });
        command.Parameters.Add(new NpgsqlParameter { Value = lease });
        Interlocked.Increment(ref _epochQueries);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetFieldValue<TimeSpan>(1));
    }

    /// <summary>Extends the lease of <paramref name="epoch"/>; false when a newer activation has bumped the epoch.</summary>
    public async Task<bool> RenewLeaseAsync(string shard, long epoch, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand(
            "UPDATE roxy_prompt_cache_shard SET lease_until = now() + $4 WHERE service_id = $1 AND shard = $2 AND epoch = $3");
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = shard });
        command.Parameters.Add(new NpgsqlParameter { Value = epoch });
        command.Parameters.Add(new NpgsqlParameter { Value = lease });
        Interlocked.Increment(ref _epochQueries);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>The activation of <paramref name="epoch"/> no longer trusts its set: its successor need not wait.</summary>
    public async Task ReleaseLeaseAsync(string shard, long epoch, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand(
            "UPDATE roxy_prompt_cache_shard SET lease_until = '-infinity' WHERE service_id = $1 AND shard = $2 AND epoch = $3");
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = shard });
        command.Parameters.Add(new NpgsqlParameter { Value = epoch });
        Interlocked.Increment(ref _epochQueries);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The first 8 bytes and the expiry of every row of the shard (<paramref name="tenantId"/>, keys whose first hex
    /// digit is <paramref name="digit"/>) unexpired at <paramref name="now"/>: a range of the primary key. Null when
    /// there are more than <paramref name="limit"/>.
    /// </summary>
    public async Task<List<(ulong Prefix, long ExpiresTicks)>?> LiveKeysAsync(
        string tenantId, int digit, DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        // 32-byte hashes starting with the digit: from [digit0] up to [digit+1 0], or past 33 bytes of 0xff for 'f'.
        byte[] from = [(byte)(digit << 4)];
        var to = digit < 15 ? [(byte)((digit + 1) << 4)] : Enumerable.Repeat((byte)0xff, 33).ToArray();
        await using var command = database.CreateCommand(
            """
            SELECT substring(key_hash from 1 for 8), expires_at FROM roxy_prompt_cache
            WHERE service_id = $1 AND tenant_id = $2 AND key_hash >= $3 AND key_hash < $4 AND expires_at > $5 LIMIT $6
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        command.Parameters.Add(new NpgsqlParameter { Value = to });
        command.Parameters.Add(new NpgsqlParameter { Value = now.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        Interlocked.Increment(ref _keyLoads);
        var keys = new List<(ulong, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var prefix = reader.GetFieldValue<byte[]>(0);
            keys.Add((System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(prefix), reader.GetFieldValue<DateTimeOffset>(1).UtcTicks));
        }

        return keys.Count > limit ? null : keys;
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

    private const string UnfencedUpsert =
        """
        INSERT INTO roxy_prompt_cache
            (service_id, tenant_id, key_hash, generation, requested_model, rule_fingerprint, expires_at, created_at, bytes, entry)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (service_id, tenant_id, key_hash) DO UPDATE SET
            generation = excluded.generation, requested_model = excluded.requested_model,
            rule_fingerprint = excluded.rule_fingerprint, expires_at = excluded.expires_at,
            created_at = excluded.created_at, bytes = excluded.bytes, entry = excluded.entry
        """;

    private const string FencedUpsert =
        """
        INSERT INTO roxy_prompt_cache
            (service_id, tenant_id, key_hash, generation, requested_model, rule_fingerprint, expires_at, created_at, bytes, entry)
        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
        WHERE EXISTS (SELECT 1 FROM roxy_prompt_cache_shard WHERE service_id = $1 AND shard = $11 AND epoch = $12 FOR SHARE)
        ON CONFLICT (service_id, tenant_id, key_hash) DO UPDATE SET
            generation = excluded.generation, requested_model = excluded.requested_model,
            rule_fingerprint = excluded.rule_fingerprint, expires_at = excluded.expires_at,
            created_at = excluded.created_at, bytes = excluded.bytes, entry = excluded.entry
        """;

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
