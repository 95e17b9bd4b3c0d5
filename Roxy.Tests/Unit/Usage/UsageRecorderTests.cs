using Microsoft.Extensions.Time.Testing;
using Roxy.Api.Usage;

namespace Roxy.Tests.Unit.Usage;

public sealed class UsageRecorderTests
{
    private static readonly DateOnly Day = new(2026, 3, 14);
    private static readonly DateTimeOffset Noon = new(2026, 3, 14, 12, 0, 0, TimeSpan.Zero);

    private static UsageRecorder.RowKey Row(string model = "gpt-4o", string key = "k1", string token = "t1", DateOnly? day = null) =>
        new(day ?? Day, "openai", model, key, token);

    [Fact]
    public void Requests_of_one_row_add_up_and_other_rows_stay_apart()
    {
        var recorder = new UsageRecorder(new FakeTimeProvider(Noon));
        recorder.Add("acme", Row(), cacheHit: false, 100, 10, 40, 0.25m, 0, Noon);
        recorder.Add("acme", Row(), cacheHit: false, 200, 20, 0, 0.5m, 0, Noon.AddSeconds(5));
        recorder.Add("acme", Row(key: ""), cacheHit: true, 0, 0, 0, 0, 0.75m, Noon.AddSeconds(1));
        recorder.Add("other", Row(), cacheHit: false, 1, 1, 0, 0.01m, 0, Noon);

        var rows = recorder.Take("acme").OrderBy(r => r.KeyId, StringComparer.Ordinal).ToArray();

        Assert.Equal(2, rows.Length);
        Assert.Equal((1L, 1L, 0m, 0.75m), (rows[0].Requests, rows[0].CacheHits, rows[0].CostUsd, rows[0].SavedUsd));
        var upstream = rows[1];
        Assert.Equal((2L, 0L, 300L, 30L, 40L, 0.75m), (upstream.Requests, upstream.CacheHits, upstream.PromptTokens, upstream.CompletionTokens, upstream.CachedTokens, upstream.CostUsd));
        Assert.Equal(Noon.AddSeconds(5), upstream.LastAt);
        Assert.Equal(Day, upstream.Day);
        Assert.Single(recorder.Take("other"));
    }

    [Fact]
    public void A_take_zeroes_what_it_took_and_a_returned_take_is_sent_again()
    {
        var recorder = new UsageRecorder(new FakeTimeProvider(Noon));
        recorder.Add("acme", Row(), cacheHit: false, 100, 10, 0, 0.1m, 0, Noon);
        var first = recorder.Take("acme");
        Assert.Empty(recorder.Take("acme"));

        recorder.Return("acme", first);
        recorder.Add("acme", Row(), cacheHit: false, 50, 5, 0, 0.05m, 0, Noon);
        var again = Assert.Single(recorder.Take("acme"));

        Assert.Equal((2L, 150L, 15L, 0.15m), (again.Requests, again.PromptTokens, again.CompletionTokens, again.CostUsd));
    }

    [Fact]
    public async Task Concurrent_requests_are_all_counted_exactly()
    {
        var recorder = new UsageRecorder(new FakeTimeProvider(Noon));
        var taken = new List<Roxy.Grains.Usage.UsageDelta>();
        // Takes run while requests add, as the flusher does: nothing may be lost or counted twice across them.
        var adding = Task.Run(() => Parallel.For(0, 20_000, i =>
            recorder.Add("acme", Row(model: i % 2 == 0 ? "gpt-4o" : "gpt-4o-mini", token: $"t{i % 5}"), cacheHit: i % 10 == 0, 3, 2, 1, 0.001m, 0.0001m, Noon)));
        while (!adding.IsCompleted)
        {
            taken.AddRange(recorder.Take("acme"));
        }

        await adding;
        taken.AddRange(recorder.Take("acme"));

        Assert.Equal(20_000, taken.Sum(r => r.Requests));
        Assert.Equal(2_000, taken.Sum(r => r.CacheHits));
        Assert.Equal(60_000, taken.Sum(r => r.PromptTokens));
        Assert.Equal(20m, taken.Sum(r => r.CostUsd));
        Assert.Equal(2m, taken.Sum(r => r.SavedUsd));
        Assert.Equal(10, taken.Select(r => (r.Model, r.TokenId)).Distinct().Count());
    }

    [Fact]
    public void Pending_rows_are_read_without_being_taken()
    {
        var recorder = new UsageRecorder(new FakeTimeProvider(Noon));
        recorder.Add("acme", Row(), cacheHit: false, 100, 10, 0, 0.1m, 0, Noon);

        Assert.Equal(1, Assert.Single(recorder.Pending("acme")).Requests);
        Assert.Equal(1, Assert.Single(recorder.Pending("acme")).Requests);
        Assert.Equal(1, Assert.Single(recorder.Take("acme")).Requests);
        Assert.Empty(recorder.Pending("acme"));
    }

    [Fact]
    public void Rows_of_different_days_are_kept_apart()
    {
        var recorder = new UsageRecorder(new FakeTimeProvider(Noon));
        recorder.Add("acme", Row(day: Day), cacheHit: false, 1, 1, 0, 1m, 0, Noon);
        recorder.Add("acme", Row(day: Day.AddDays(1)), cacheHit: false, 1, 1, 0, 2m, 0, Noon.AddDays(1));

        var rows = recorder.Take("acme").OrderBy(r => r.Day).ToArray();

        Assert.Equal([(Day, 1m), (Day.AddDays(1), 2m)], rows.Select(r => (r.Day, r.CostUsd)));
    }
}
