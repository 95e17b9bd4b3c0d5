using Npgsql;
using NpgsqlTypes;

namespace Roxy.Grains.Usage;

/// <summary>
/// The usage table, <c>roxy_usage</c> (Sql/roxy-usage.sql). A write is one statement for any number of rows (arrays
/// through <c>unnest</c>) that adds to the stored sums; the counters let tests prove the writes are batched.
/// </summary>
public sealed class UsageStore(NpgsqlDataSource database, string serviceId) : IAsyncDisposable
{
    private long _writes;
    private long _rowsWritten;

    /// <summary>Upsert statements run (each one round trip, whatever its rows).</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Rows those statements added to.</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    public ValueTask DisposeAsync() => database.DisposeAsync();

    /// <summary>Adds <paramref name="rows"/> (distinct keys) to the tenant's stored sums, in one statement.</summary>
    public async Task AddAsync(string tenantId, IReadOnlyCollection<UsageDelta> rows, CancellationToken cancellationToken = default)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var days = new DateOnly[rows.Count];
        var providers = new string[rows.Count];
        var models = new string[rows.Count];
        var keys = new string[rows.Count];
        var tokens = new string[rows.Count];
        var requests = new long[rows.Count];
        var hits = new long[rows.Count];
        var prompt = new long[rows.Count];
        var completion = new long[rows.Count];
        var cached = new long[rows.Count];
        var cost = new decimal[rows.Count];
        var saved = new decimal[rows.Count];
        var lastAt = new DateTime[rows.Count];
        var i = 0;
        foreach (var row in rows)
        {
            days[i] = row.Day;
            providers[i] = row.Provider;
            models[i] = row.Model;
            keys[i] = row.KeyId;
            tokens[i] = row.TokenId;
            requests[i] = row.Requests;
            hits[i] = row.CacheHits;
            prompt[i] = row.PromptTokens;
            completion[i] = row.CompletionTokens;
            cached[i] = row.CachedTokens;
            cost[i] = row.CostUsd;
            saved[i] = row.SavedUsd;
            lastAt[i] = row.LastAt.UtcDateTime;
            i++;
        }

        await using var command = database.CreateCommand(
            """
            INSERT INTO roxy_usage AS u
                (service_id, tenant_id, day, provider, model, key_id, token_id,
                 requests, cache_hits, prompt_tokens, completion_tokens, cached_tokens, cost_usd, saved_usd, last_at)
            SELECT $1, $2, r.* FROM unnest($3::date[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::numeric[], $14::numeric[], $15::timestamptz[]) AS r
            ON CONFLICT (service_id, tenant_id, day, provider, model, key_id, token_id) DO UPDATE SET
                requests = u.requests + excluded.requests,
                cache_hits = u.cache_hits + excluded.cache_hits,
                prompt_tokens = u.prompt_tokens + excluded.prompt_tokens,
                completion_tokens = u.completion_tokens + excluded.completion_tokens,
                cached_tokens = u.cached_tokens + excluded.cached_tokens,
                cost_usd = u.cost_usd + excluded.cost_usd,
                saved_usd = u.saved_usd + excluded.saved_usd,
                last_at = greatest(u.last_at, excluded.last_at)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = days, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Date });
        command.Parameters.Add(new NpgsqlParameter { Value = providers, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = models, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = tokens, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = requests, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = hits, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = prompt, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = completion, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = cached, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = cost, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Numeric });
        command.Parameters.Add(new NpgsqlParameter { Value = saved, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Numeric });
        command.Parameters.Add(new NpgsqlParameter { Value = lastAt, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        Interlocked.Increment(ref _writes);
        await command.ExecuteNonQueryAsync(cancellationToken);
        Interlocked.Add(ref _rowsWritten, rows.Count);
    }

    /// <summary>The tenant's stored rows from <paramref name="firstDay"/> to <paramref name="lastDay"/>, inclusive.</summary>
    public async Task<List<UsageDelta>> ReadAsync(string tenantId, DateOnly firstDay, DateOnly lastDay, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand(
            """
            SELECT day, provider, model, key_id, token_id, requests, cache_hits, prompt_tokens, completion_tokens, cached_tokens,
                   cost_usd, saved_usd, last_at
            FROM roxy_usage WHERE service_id = $1 AND tenant_id = $2 AND day >= $3 AND day <= $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = firstDay, NpgsqlDbType = NpgsqlDbType.Date });
        command.Parameters.Add(new NpgsqlParameter { Value = lastDay, NpgsqlDbType = NpgsqlDbType.Date });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<UsageDelta>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new UsageDelta(
                reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9),
                reader.GetDecimal(10), reader.GetDecimal(11), reader.GetFieldValue<DateTimeOffset>(12)));
        }

        return rows;
    }

    /// <summary>Removes every row of the tenant; returns how many.</summary>
    public async Task<int> DeleteAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand("DELETE FROM roxy_usage WHERE service_id = $1 AND tenant_id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
