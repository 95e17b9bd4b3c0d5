using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Roxy.Grains;
using Roxy.Grains.Tracing;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>
/// The per-tenant trace grain on two silos over real PostgreSQL: the newest 10,000 kept, batched writes, lookups after
/// deactivation from the table, and tenant isolation in memory and in the table.
/// </summary>
public sealed class RequestTraceGrainTests(GrainClusterFixture cluster) : IClassFixture<GrainClusterFixture>
{
    private static readonly DateTimeOffset Started = DateTimeOffset.UtcNow.AddMinutes(-5);

    private IRequestTraceGrain Grain(string tenant) => cluster.Grains.GetGrain<IRequestTraceGrain>(GrainKeys.RequestTrace(tenant));

    private IEnumerable<RequestTraceStore> Stores => cluster.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<RequestTraceStore>());

    private long Writes => Stores.Sum(s => s.Writes);

    private long RowsWritten => Stores.Sum(s => s.RowsWritten);

    private long Reads => Stores.Sum(s => s.Reads);

    private static RequestTrace Trace(string tenant, string id, int n = 0) => new(
        id, tenant, "tok-1", Started.AddMilliseconds(n), "openai", "gpt-4o", "gpt-4o", Stream: n % 2 == 0, Status: 200, ErrorType: null,
        CacheResult: "miss", Provider: "openai", AnswerModel: "gpt-4o-2024-08-06", KeyId: "k-b", PromptTokens: 100 + n, CompletionTokens: 20,
        CachedTokens: 0, CostUsd: 0.000123m + n, SavedUsd: 0m, LatencyMs: 42.5, FirstByteMs: 12.25, WaitedMs: 0,
        Steps:
        [
            new TraceStep("openai", "gpt-4o", TraceStepKind.Attempt, "k-a", 429, "rate_limited", 8.5, null, TimeSpan.FromSeconds(3), null),
            new TraceStep("openai", "gpt-4o", TraceStepKind.Attempt, "k-b", 200, "success", 30.0,
                [
                    new KeySkip("k-a", KeySkipReason.Excluded, Started.AddSeconds(30), null),
                    new KeySkip("k-c", KeySkipReason.Disabled, null, "auth"),
                ], null, null),
        ],
        Frontend: "fe-1");

    private static string Id(string tenant, int n) => $"req-{tenant}-{n:D5}";

    private async Task<long> StoredCountAsync(string tenant)
    {
        await using var connection = new NpgsqlConnection(cluster.Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM roxy_request_traces WHERE tenant_id = @t", connection);
        command.Parameters.AddWithValue("t", tenant);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>How many of the ids the grain finds, looked up a few hundred at a time.</summary>
    private static async Task<int> FoundAsync(IRequestTraceGrain grain, IEnumerable<string> ids)
    {
        var found = 0;
        foreach (var chunk in ids.Chunk(250))
        {
            var traces = await Task.WhenAll(chunk.Select(grain.FindAsync));
            found += traces.Count(t => t is not null);
            Assert.All(traces.Where(t => t is not null), t => Assert.Contains(t!.RequestId, chunk));
        }

        return found;
    }

    [Fact]
    public async Task Of_10050_traces_the_first_50_are_gone_and_the_last_10000_are_found_in_memory_and_in_the_table()
    {
        const string tenant = "trace-ring";
        const int total = RequestTraceOptions.DefaultCapacity + 50;
        var grain = Grain(tenant);
        var writes = Writes;
        var rowsWritten = RowsWritten;
        foreach (var batch in Enumerable.Range(0, total).Chunk(500))
        {
            await grain.RecordAsync(batch.Select(n => Trace(tenant, Id(tenant, n), n)).ToArray());
            // One-way calls may overtake each other; waiting for each batch keeps "the first 50" the oldest.
            await Eventually.TrueAsync(async () => await grain.FindAsync(Id(tenant, batch[^1])) is not null, TimeSpan.FromSeconds(20));
        }

        var first = Enumerable.Range(0, 50).Select(n => Id(tenant, n)).ToArray();
        var last = Enumerable.Range(50, RequestTraceOptions.DefaultCapacity).Select(n => Id(tenant, n)).ToArray();
        Assert.Equal(last.Length, await FoundAsync(grain, last));
        // Out of memory at once; out of the table at the prune after the next write or the first quiet period.
        await Eventually.TrueAsync(async () => await FoundAsync(grain, first) == 0, TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(async () => await StoredCountAsync(tenant) == RequestTraceOptions.DefaultCapacity, TimeSpan.FromSeconds(20));

        // Deactivated: lookups now read the table.
        await cluster.Cluster.DeactivateAsync(grain);
        Assert.Equal(RequestTraceOptions.DefaultCapacity, await StoredCountAsync(tenant));
        var reads = Reads;
        Assert.Equal(0, await FoundAsync(grain, first));
        Assert.Equal(last.Length, await FoundAsync(grain, last));
        Assert.True(Reads - reads >= total, "lookups after deactivation came from the table");

        // Batched: a statement per thousand rows or per period, never one per trace. Traces already out of memory
        // when their write comes (all 10,050 arrived within one period) are not written at all.
        Assert.InRange(RowsWritten - rowsWritten, RequestTraceOptions.DefaultCapacity, total);
        Assert.InRange(Writes - writes, 10, 60);
    }

    [Fact]
    public async Task A_trace_recorded_just_before_deactivation_is_found_whole_from_the_table()
    {
        const string tenant = "trace-persist";
        var grain = Grain(tenant);
        var traces = Enumerable.Range(0, 3).Select(n => Trace(tenant, Id(tenant, n), n)).ToArray();
        await grain.RecordAsync(traces);
        await Eventually.TrueAsync(async () => await grain.FindAsync(Id(tenant, 2)) is not null);

        // Within the write period: only the flush on deactivation saves these.
        await cluster.Cluster.DeactivateAsync(grain);
        Assert.Equal(3, await StoredCountAsync(tenant));

        var reads = Reads;
        foreach (var expected in traces)
        {
            var found = await Grain(tenant).FindAsync(expected.RequestId);
            Assert.NotNull(found);
            Assert.Equivalent(expected, found, strict: true);
            Assert.Equal(expected.CostUsd, found.CostUsd);
            Assert.Equal(expected.Steps[1].SkippedKeys![0].Until, found.Steps[1].SkippedKeys![0].Until);
        }

        Assert.Equal(3, Reads - reads);
        Assert.Null(await Grain(tenant).FindAsync("req-never-recorded"));
        Assert.Null(await Grain(tenant).FindAsync(""));
        Assert.Null(await Grain(tenant).FindAsync(new string('x', RequestTraceGrain.MaxRequestIdLength + 1)));
    }

    [Fact]
    public async Task A_tenant_never_sees_another_tenants_traces_in_memory_or_in_the_table()
    {
        var a = Grain("trace-iso-a");
        var b = Grain("trace-iso-b");
        await a.RecordAsync([Trace("trace-iso-a", "req-iso-a")]);
        await b.RecordAsync([Trace("trace-iso-b", "req-iso-b")]);
        // Sent to the wrong grain: a frontend bug must not make it readable by that tenant (nor by its own from here).
        await a.RecordAsync([Trace("trace-iso-b", "req-iso-misrouted")]);
        await Eventually.TrueAsync(async () => await a.FindAsync("req-iso-a") is not null && await b.FindAsync("req-iso-b") is not null);

        Assert.Null(await b.FindAsync("req-iso-a"));
        Assert.Null(await a.FindAsync("req-iso-b"));
        Assert.Null(await a.FindAsync("req-iso-misrouted"));

        await cluster.Cluster.DeactivateAsync(a);
        await cluster.Cluster.DeactivateAsync(b);
        Assert.Equal((1L, 1L), (await StoredCountAsync("trace-iso-a"), await StoredCountAsync("trace-iso-b")));
        Assert.Null(await b.FindAsync("req-iso-a"));
        Assert.Null(await a.FindAsync("req-iso-b"));
        Assert.Null(await a.FindAsync("req-iso-misrouted"));
        Assert.Equal("trace-iso-a", (await a.FindAsync("req-iso-a"))!.TenantId);

        // The table itself filters by tenant: the row exists, but not under the other tenant.
        var store = Stores.First();
        Assert.NotNull(await store.FindAsync("trace-iso-a", "req-iso-a"));
        Assert.Null(await store.FindAsync("trace-iso-b", "req-iso-a"));
    }

    [Fact]
    public async Task Deleting_a_tenants_traces_forgets_them_in_memory_and_in_the_table()
    {
        const string tenant = "trace-delete";
        var grain = Grain(tenant);
        await grain.RecordAsync([Trace(tenant, "req-del-1"), Trace(tenant, "req-del-2")]);
        await Eventually.TrueAsync(async () => await StoredCountAsync(tenant) == 2, TimeSpan.FromSeconds(20));
        await grain.RecordAsync([Trace(tenant, "req-del-3")]);
        await Eventually.TrueAsync(async () => await grain.FindAsync("req-del-3") is not null);

        await grain.DeleteAllAsync();

        Assert.Null(await grain.FindAsync("req-del-1"));
        Assert.Null(await grain.FindAsync("req-del-3"));
        await cluster.Cluster.DeactivateAsync(grain);
        Assert.Equal(0, await StoredCountAsync(tenant));
        Assert.Null(await grain.FindAsync("req-del-1"));
        Assert.Null(await grain.FindAsync("req-del-3"));
    }
}
