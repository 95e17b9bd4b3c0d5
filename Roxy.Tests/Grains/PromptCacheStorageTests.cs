using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Roxy.Grains.Caching;
using Roxy.Tests.Fixtures;
using static Roxy.Tests.Grains.PromptCacheEntries;

namespace Roxy.Tests.Grains;

/// <summary>
/// How the prompt cache holds up when PostgreSQL does not: the writer's queue is bounded by bytes, a bad row sinks only
/// itself, a slow read is a quick miss, rows are compact UTF-8, and a clear's expiry never waits on a locked row.
/// </summary>
[Collection(PromptCacheClusterGroup.Name)]
public sealed class PromptCacheStorageTests(PromptCacheClusterFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly List<(PromptCacheWriter Writer, PromptCacheStore Store)> _writers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (writer, store) in _writers)
        {
            await writer.StopAsync(CancellationToken.None);
            writer.Dispose();
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_write_queue_is_bounded_by_bytes_drops_new_rows_when_full_and_writes_what_it_took()
    {
        const string tenant = "queue-bytes";
        var writer = Writer(new PromptCacheOptions { WriterQueueBytes = 64 * 1024 });
        var rows = Enumerable.Range(0, 10).Select(_ => Row(Key(tenant), new string('x', 10 * 1024))).ToArray();
        var size = rows[0].Entry.Length;
        Assert.InRange(size, 10 * 1024, 11 * 1024);

        // Not started, as while PostgreSQL stalls a batch: what is held is bounded by bytes, not by 10,000 rows.
        var taken = rows.Count(writer.Enqueue);
        Assert.Equal(64 * 1024 / size, taken);
        Assert.Equal(rows.Length - taken, writer.Dropped);
        Assert.Equal(taken * (long)size, writer.HeldBytes);
        Assert.Single(fixture.Logs.Lines, l => l.Contains("Prompt cache write queue full", StringComparison.Ordinal));

        await writer.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(async () => await fixture.RowsAsync(tenant) == taken, because: "the rows taken were not written");
        await Eventually.TrueAsync(() => Task.FromResult(writer.HeldBytes == 0), because: "the written batch still counts as held");

        // Drained, it takes rows again; one larger than the whole budget is taken when nothing else is held.
        Assert.True(writer.Enqueue(Row(Key(tenant), new string('y', 100 * 1024))));
        await Eventually.TrueAsync(async () => await fixture.RowsAsync(tenant) == taken + 1);
        Assert.Equal(0, writer.Lost);
    }

    [Fact]
    public async Task A_failed_batch_is_tried_again_after_a_pause_and_then_row_by_row_so_a_bad_row_loses_only_itself()
    {
        // PostgreSQL away for a moment: the batch fails, the retry after the pause writes it.
        const string tenant = "batch-retry";
        var writer = Writer(new PromptCacheOptions { WriteRetryDelay = TimeSpan.FromSeconds(3) });
        await writer.StartAsync(CancellationToken.None);
        await fixture.ScalarAsync("ALTER TABLE roxy_prompt_cache RENAME TO roxy_prompt_cache_away");
        try
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.True(writer.Enqueue(Row(Key(tenant))));
            }

            await Eventually.TrueAsync(
                () => Task.FromResult(fixture.Logs.Lines.Any(l => l.Contains("Could not write 3 prompt cache rows to PostgreSQL; trying again", StringComparison.Ordinal))),
                because: "the first attempt did not fail");
        }
        finally
        {
            await fixture.ScalarAsync("ALTER TABLE roxy_prompt_cache_away RENAME TO roxy_prompt_cache");
        }

        await Eventually.TrueAsync(async () => await fixture.RowsAsync(tenant) == 3, TimeSpan.FromSeconds(10), "the retry did not write the batch");
        Assert.Equal(0, writer.Lost);

        // One row PostgreSQL refuses (a tenant id longer than its column) among good ones: the good ones are written.
        const string mixed = "batch-one-bad";
        var rejecting = Writer(new PromptCacheOptions { WriteRetryDelay = TimeSpan.FromMilliseconds(50) });
        var good = Enumerable.Range(0, 6).Select(_ => Row(Key(mixed))).ToList();
        good.Insert(3, Row(Key(new string('t', 151))));
        Assert.All(good, r => Assert.True(rejecting.Enqueue(r)));
        await rejecting.StartAsync(CancellationToken.None);

        await Eventually.TrueAsync(() => Task.FromResult(rejecting.HeldBytes == 0), because: "the batch was not settled");
        Assert.Equal(6, await fixture.RowsAsync(mixed));
        Assert.Equal(1, rejecting.Lost);
        Assert.Contains(fixture.Logs.Lines, l => l.Contains("Could not write 7 prompt cache rows to PostgreSQL again; writing them one by one", StringComparison.Ordinal));
        Assert.Contains(fixture.Logs.Lines, l => l.Contains("PostgreSQL refused a prompt cache row", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_read_stalled_behind_a_lock_turns_into_a_lead_within_the_read_timeout()
    {
        var key = Key("brownout");
        var grain = Grain(fixture.Grains, key);
        await using (var locker = new NpgsqlConnection(fixture.Postgres))
        {
            // A brownout: every read of the table waits, as behind a stuck migration or a saturated server.
            await locker.OpenAsync();
            await using var transaction = await locker.BeginTransactionAsync();
            await using (var command = new NpgsqlCommand("LOCK TABLE roxy_prompt_cache IN ACCESS EXCLUSIVE MODE", locker, transaction))
            {
                await command.ExecuteNonQueryAsync();
            }

            var clock = Stopwatch.StartNew();
            Assert.Equal(CacheLookupStatus.Lead, (await grain.LookupAsync(key, Wait)).Status);
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(8)); // the 2 s deadline, not 30 s
            await transaction.RollbackAsync();
        }

        Assert.Contains(fixture.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("Prompt cache read timed out after 00:00:02 for tenant brownout", StringComparison.Ordinal));

        // The lead stands: its answer is served to the next lookup and written once the table is free.
        var entry = Entry();
        await grain.StoreAsync(key, entry, fixture.Time.GetUtcNow().AddHours(1));
        AssertSame(entry, (await grain.LookupAsync(key, Wait)).Entry);
        await Eventually.TrueAsync(async () => await fixture.RowsAsync("brownout") == 1);
    }

    [Fact]
    public async Task Cjk_and_emoji_rows_are_stored_as_raw_utf8_and_rows_written_with_escapes_still_read()
    {
        const string tenant = "utf8";
        var text = string.Concat(Enumerable.Repeat("東京の天気は晴れです。🌤️🚀 \"quoted\" \\ tab\tline\n\u0001", 200));
        var entry = new CachedCompletion("openai", "gpt-4o", text, [new CachedToolCall("call_1", "say", """{"text":"こんにちは 👋\n"}""")], "tool_calls", 1, 2, 0);
        var key = Key(tenant);
        await Grain(fixture.Grains, key).StoreAsync(key, entry, fixture.Time.GetUtcNow().AddHours(1));
        await Eventually.TrueAsync(async () => await fixture.RowsAsync(tenant) == 1);

        // Escaping CJK to \uXXXX would double it and emoji would be 12 bytes each; raw, only quotes, backslashes and
        // control characters grow, one or five bytes each.
        var bytes = await fixture.ScalarAsync("SELECT bytes FROM roxy_prompt_cache WHERE tenant_id = $1", tenant);
        var utf8 = Encoding.UTF8.GetByteCount(text) + Encoding.UTF8.GetByteCount(entry.ToolCalls[0].Arguments);
        Assert.InRange(bytes, utf8, utf8 + (200 * 10) + 300);

        fixture.ForgetMemory();
        var read = await Grain(fixture.Grains, key).LookupAsync(key, TimeSpan.Zero);
        AssertSame(entry, read.Entry);

        // A row from before, written with System.Text.Json's default escaping, reads the same.
        var old = Key(tenant);
        var escaped = """{"provider":"openai","model":"gpt-4o","text":"\u6771\u4EAC \uD83D\uDE80 \u0022q\u0022","tool_calls":[],"finish":"stop","prompt_tokens":3,"completion_tokens":4,"cached_tokens":1}""";
        await fixture.Store.WriteAsync([new PromptCacheRow(old, Encoding.UTF8.GetBytes(escaped), fixture.Time.GetUtcNow().AddHours(1), fixture.Time.GetUtcNow())]);
        var oldRead = await Grain(fixture.Grains, old).LookupAsync(old, TimeSpan.Zero);
        AssertSame(new CachedCompletion("openai", "gpt-4o", "東京 🚀 \"q\"", [], "stop", 3, 4, 1), oldRead.Entry);
    }

    [Fact]
    public async Task Expiry_chunks_use_the_live_row_indexes_and_skip_a_row_the_writer_holds_instead_of_waiting()
    {
        const string tenant = "expire-locked";
        var keys = Enumerable.Range(0, 5).Select(_ => Key(tenant, generation: 1)).ToArray();
        await fixture.Store.WriteAsync(keys.Select(k => Row(k)).ToList());

        // Among many current rows of another model, a chunk finds the few it expires through an index of its own,
        // not by walking the tenant's primary key range.
        await fixture.Store.WriteAsync(Enumerable.Range(0, 2000).Select(_ => Row(Key(tenant, generation: 2, model: "claude"))).ToList());
        await fixture.ScalarAsync("ANALYZE roxy_prompt_cache");
        await using var connection = new NpgsqlConnection(fixture.Postgres);
        await connection.OpenAsync();
        var generationPlan = await PlanAsync(connection, "generation < 2");
        Assert.True(generationPlan.Contains("ix_roxy_prompt_cache_generation", StringComparison.Ordinal), generationPlan);
        var modelPlan = await PlanAsync(connection, "requested_model = 'gpt-4o'");
        Assert.True(modelPlan.Contains("ix_roxy_prompt_cache_model", StringComparison.Ordinal), modelPlan);

        // A writer's upsert in progress holds one row: the chunk goes around it rather than waiting (or deadlocking).
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using (var hold = new NpgsqlCommand("SELECT 1 FROM roxy_prompt_cache WHERE tenant_id = $1 AND key_hash = $2 FOR UPDATE", connection, transaction))
            {
                hold.Parameters.Add(new NpgsqlParameter { Value = tenant });
                hold.Parameters.Add(new NpgsqlParameter { Value = PromptCacheStore.HashBytes(keys[0].KeyHash) });
                await hold.ExecuteScalarAsync();
            }

            Assert.Equal(4, await fixture.Store.ExpireGenerationsBelowAsync(tenant, 2).WaitAsync(TimeSpan.FromSeconds(10)));
            await transaction.CommitAsync();
        }

        Assert.Equal(2001, await fixture.ReachableRowsAsync(tenant));
        Assert.Equal(1, await fixture.Store.ExpireGenerationsBelowAsync(tenant, 2)); // the next clear's pass gets it
        Assert.Equal(0, await fixture.Store.ExpireGenerationsBelowAsync(tenant, 2));
        Assert.Equal(2000, await fixture.ReachableRowsAsync(tenant));
        await fixture.ScalarAsync("DELETE FROM roxy_prompt_cache WHERE tenant_id = $1", tenant);
    }

    /// <summary>The plan of an expiry chunk's row search (PromptCacheStore.ExpireInChunksAsync) with sequential scans off.</summary>
    private async Task<string> PlanAsync(NpgsqlConnection connection, string where)
    {
        await using (var off = new NpgsqlCommand("SET enable_seqscan = off", connection))
        {
            await off.ExecuteNonQueryAsync();
        }

        await using var explain = new NpgsqlCommand(
            $"EXPLAIN SELECT ctid FROM roxy_prompt_cache WHERE service_id = $1 AND tenant_id = 'expire-locked' AND {where} AND expires_at > '-infinity' LIMIT 1000 FOR UPDATE SKIP LOCKED",
            connection);
        explain.Parameters.Add(new NpgsqlParameter { Value = fixture.Store.ServiceId });
        var plan = new StringBuilder();
        await using var reader = await explain.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            plan.AppendLine(reader.GetString(0));
        }

        return plan.ToString();
    }

    private PromptCacheRow Row(CacheEntryKey key, string? text = null) =>
        new(key, JsonSerializer.SerializeToUtf8Bytes(Entry(text ?? "The weather in Paris is mild."), PromptCacheJson.Default.CachedCompletion),
            fixture.Time.GetUtcNow().AddHours(1), fixture.Time.GetUtcNow());

    /// <summary>A writer of its own on the fixture's database, started (or not) by the test.</summary>
    private PromptCacheWriter Writer(PromptCacheOptions settings)
    {
        var store = new PromptCacheStore(NpgsqlDataSource.Create(fixture.Postgres), fixture.Store.ServiceId);
        settings.WriteDelay = TimeSpan.FromMilliseconds(10);
        var logs = LoggerFactory.Create(b => b.AddProvider(fixture.Logs));
        var writer = new PromptCacheWriter(store, Options.Create(settings), logs.CreateLogger<PromptCacheWriter>());
        _writers.Add((writer, store));
        return writer;
    }
}
