using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Roxy.Api.Pricing;
using Roxy.Api.Usage;
using Roxy.Grains;
using Roxy.Grains.Usage;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>The usage grain on two silos over real PostgreSQL: sums in memory, batched upserts, reads of stored and unsaved rows.</summary>
public sealed class UsageGrainTests(GrainClusterFixture cluster) : IClassFixture<GrainClusterFixture>
{
    private static readonly DateOnly Today = new(2026, 3, 14);
    private static readonly DateTimeOffset At = new(2026, 3, 14, 10, 0, 0, TimeSpan.Zero);

    private long Writes => cluster.Cluster.Silos.Sum(s => s.ServiceProvider.GetRequiredService<UsageStore>().Writes);

    private IUsageGrain Grain(string tenant) => cluster.Grains.GetGrain<IUsageGrain>(GrainKeys.Usage(tenant));

    private static UsageDelta Delta(DateOnly day, string model = "gpt-4o", string key = "k1", string token = "t1", long requests = 1, decimal cost = 0.01m) =>
        new(day, "openai", model, key, token, requests, 0, requests * 100, requests * 10, requests * 5, cost, 0, At);

    private async Task<(long Requests, decimal Cost)> StoredAsync(string tenant)
    {
        await using var connection = new NpgsqlConnection(cluster.Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT coalesce(sum(requests), 0)::bigint, coalesce(sum(cost_usd), 0) FROM roxy_usage WHERE tenant_id = @t", connection);
        command.Parameters.AddWithValue("t", tenant);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetDecimal(1));
    }

    [Fact]
    public async Task Rows_read_the_same_before_and_after_they_are_written()
    {
        var grain = Grain("sums");
        await grain.RecordAsync([Delta(Today), Delta(Today, requests: 2, cost: 0.02m), Delta(Today, model: "gpt-4o-mini")]);

        var before = await grain.GetAsync(Today, Today);
        await Eventually.TrueAsync(async () => (await StoredAsync("sums")).Requests == 4, TimeSpan.FromSeconds(20));
        var after = await grain.GetAsync(Today, Today);

        foreach (var rows in new[] { before, after })
        {
            var gpt4o = rows.Single(r => r.Model == "gpt-4o");
            Assert.Equal((3L, 300L, 30L, 15L, 0.03m), (gpt4o.Requests, gpt4o.PromptTokens, gpt4o.CompletionTokens, gpt4o.CachedTokens, gpt4o.CostUsd));
            Assert.Equal(1, rows.Single(r => r.Model == "gpt-4o-mini").Requests);
        }

        Assert.Equal((4L, 0.04m), await StoredAsync("sums"));
    }

    [Fact]
    public async Task Fifty_reports_are_written_in_a_few_batched_upserts()
    {
        var grain = Grain("batched");
        var writes = Writes;
        for (var i = 0; i < 50; i++)
        {
            await grain.RecordAsync([Delta(Today, token: $"t{i % 3}")]);
        }

        await Eventually.TrueAsync(async () => (await StoredAsync("batched")).Requests == 50, TimeSpan.FromSeconds(20));

        var upserts = Writes - writes;
        Assert.True(upserts is >= 1 and <= 5, $"{upserts} upserts for 50 reports");
        Assert.Equal(50, (await grain.GetAsync(Today, Today)).Sum(r => r.Requests));
    }

    [Fact]
    public async Task A_read_covers_only_the_days_asked()
    {
        var grain = Grain("days");
        await grain.RecordAsync([Delta(Today), Delta(Today.AddDays(-1), requests: 2), Delta(Today.AddDays(-40), requests: 4)]);

        Assert.Equal(1, (await grain.GetAsync(Today, Today)).Sum(r => r.Requests));
        Assert.Equal(3, (await grain.GetAsync(Today.AddDays(-13), Today)).Sum(r => r.Requests));
        Assert.Equal(7, (await grain.GetAsync(Today.AddDays(-60), Today)).Sum(r => r.Requests));
        Assert.Empty(await grain.GetAsync(Today, Today.AddDays(-1)));
    }

    [Fact]
    public async Task Delete_all_removes_the_tenants_rows()
    {
        var grain = Grain("deleted");
        await grain.RecordAsync([Delta(Today, requests: 5)]);
        await Eventually.TrueAsync(async () => (await StoredAsync("deleted")).Requests == 5, TimeSpan.FromSeconds(20));
        await grain.DeleteAllAsync();

        Assert.Empty(await grain.GetAsync(Today.AddDays(-400), Today));
        Assert.Equal((0L, 0m), await StoredAsync("deleted"));
    }

    [Fact]
    public async Task A_failed_write_keeps_its_rows_and_adds_them_once_the_table_is_back()
    {
        var grain = Grain("retried");
        await grain.GetAsync(Today, Today); // activated, so its timer runs
        await cluster.ExecuteAsync("ALTER TABLE roxy_usage RENAME TO roxy_usage_away");
        try
        {
            var writes = Writes;
            await grain.RecordAsync([Delta(Today, requests: 3, cost: 0.03m)]);
            // The grain tried (and failed) at least once while the table was gone.
            await Eventually.TrueAsync(() => Task.FromResult(Writes > writes), TimeSpan.FromSeconds(20));
            await grain.RecordAsync([Delta(Today, requests: 2, cost: 0.02m)]);
        }
        finally
        {
            await cluster.ExecuteAsync("ALTER TABLE roxy_usage_away RENAME TO roxy_usage");
        }

        await Eventually.TrueAsync(async () => (await StoredAsync("retried")).Requests == 5, TimeSpan.FromSeconds(20));
        Assert.Equal((5L, 0.05m), await StoredAsync("retried"));
        Assert.Equal(5, (await grain.GetAsync(Today, Today)).Sum(r => r.Requests));
    }

    [Fact]
    public async Task A_report_the_grain_did_not_take_stays_on_the_frontend_and_goes_with_the_next_flush()
    {
        var time = new FakeTimeProvider(At);
        var recorder = new UsageRecorder(time);
        var flusher = new UsageFlusher(recorder, cluster.Grains, time, NullLogger<UsageFlusher>.Instance);
        void Add(string token) => recorder.Add("flaky", new UsageRecorder.RowKey(Today, "openai", "gpt-4o", "k1", token), false, 100, 10, 0, 0.01m, 0, At);
        var grain = Grain("flaky");
        await grain.GetAsync(Today, Today); // activated before its calls are refused

        Add("alice");
        Add("bob");
        using (cluster.Refuse(grain.GetGrainId(), nameof(IUsageGrain.RecordAsync)))
        {
            Assert.Equal(["flaky"], await flusher.FlushAsync());
            Assert.Empty(await grain.GetAsync(Today, Today));
            Assert.Equal(2, recorder.Pending("flaky").Sum(r => r.Requests));
            Add("alice"); // counted meanwhile: merged with the returned rows
        }

        await flusher.FlushAsync();
        var rows = await grain.GetAsync(Today, Today);
        Assert.Equal([("alice", 2L), ("bob", 1L)], rows.OrderBy(r => r.TokenId, StringComparer.Ordinal).Select(r => (r.TokenId, r.Requests)));
        Assert.Equal(0.03m, rows.Sum(r => r.CostUsd));
        Assert.Empty(recorder.Pending("flaky"));
    }

    [Fact]
    public async Task Day_and_month_reports_count_the_rows_of_their_days()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 14, 18, 0, 0, TimeSpan.Zero));
        var recorder = new UsageRecorder(time);
        var flusher = new UsageFlusher(recorder, cluster.Grains, time, NullLogger<UsageFlusher>.Instance);
        var reports = new UsageReports(flusher, ModelPrices.BuiltIn);
        var price = ModelPrices.BuiltIn.Find("openai", "gpt-4o")!.Value;
        void Add(DateOnly day, string token) =>
            recorder.Add("periods", new UsageRecorder.RowKey(day, "openai", "gpt-4o", "k1", token), false, 1000, 100, 0, price.Cost(1000, 100), 0, time.GetUtcNow());

        Add(Today, "alice");
        Add(Today, "bob");
        Add(new DateOnly(2026, 3, 2), "alice");
        Add(new DateOnly(2026, 2, 28), "alice"); // last month
        await flusher.FlushAsync();
        Add(Today, "alice"); // not flushed yet: the report flushes it first

        // The flushed rows are in the grain once the flush returned; the unflushed one is added locally.
        var day = await reports.BuildAsync("periods", UsageReports.Day, time.GetUtcNow());
        var month = await reports.BuildAsync("periods", UsageReports.Month, time.GetUtcNow());

        Assert.Equal((3L, 3000L, 3 * price.Cost(1000, 100)), (day.Total.Requests, day.Total.PromptTokens, day.Total.CostUsd));
        Assert.Equal([("alice", 2L), ("bob", 1L)], day.ByToken.Select(l => (l.Id, l.Requests)));
        Assert.Equal((4L, 4 * price.Cost(1000, 100)), (month.Total.Requests, month.Total.CostUsd));
        await flusher.FlushAsync();
        Assert.Equal((new DateOnly(2026, 3, 1), Today), (month.From, month.To));

        time.Advance(TimeSpan.FromDays(1)); // the 15th: today's report starts again
        Assert.Equal(4, (await reports.BuildAsync("periods", UsageReports.Month, time.GetUtcNow())).Total.Requests);
        Assert.Equal(0, (await reports.BuildAsync("periods", UsageReports.Day, time.GetUtcNow())).Total.Requests);
    }
}
