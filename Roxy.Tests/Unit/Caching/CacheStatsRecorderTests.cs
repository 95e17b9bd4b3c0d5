using Roxy.Api.Caching;
using Roxy.Grains.Caching;

namespace Roxy.Tests.Unit.Caching;

/// <summary>The frontend's hit and miss counters: exact under concurrency, taken once, and put back when a report fails.</summary>
public sealed class CacheStatsRecorderTests
{
    [Fact]
    public async Task Concurrent_hits_and_misses_are_all_counted_per_tenant_and_model()
    {
        var recorder = new CacheStatsRecorder();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                recorder.Hit("a", "openai", worker % 2 == 0 ? "gpt-4o" : "gpt-4o-mini", 3, 5);
                recorder.Miss("a");
                recorder.Miss("b");
            }
        })));

        var a = recorder.Take("a")!;
        Assert.Equal((80_000, 80_000), (a.Hits, a.Misses));
        Assert.Equal(
            [new ModelSavings("openai", "gpt-4o", 40_000, 120_000, 200_000), new ModelSavings("openai", "gpt-4o-mini", 40_000, 120_000, 200_000)],
            a.Savings.OrderBy(s => s.Model, StringComparer.Ordinal));
        var b = recorder.Take("b")!;
        Assert.Equal((0, 80_000), (b.Hits, b.Misses));
        Assert.Empty(b.Savings);

        // Taken means zeroed: nothing is reported twice.
        Assert.Null(recorder.Take("a"));
        Assert.Null(recorder.Pending("b"));
        Assert.Null(recorder.Take("never-seen"));
    }

    [Fact]
    public void Pending_leaves_counts_in_place_and_a_failed_report_goes_back()
    {
        var recorder = new CacheStatsRecorder();
        recorder.Hit("t", "anthropic", "claude-sonnet-4-20250514", 100, 40);
        recorder.Miss("t");

        var pending = recorder.Pending("t")!;
        Assert.Equal((1, 1), (pending.Hits, pending.Misses));
        var taken = recorder.Take("t")!;
        Assert.Equal(pending.Savings, taken.Savings);

        recorder.Return("t", taken);
        recorder.Hit("t", "anthropic", "claude-sonnet-4-20250514", 10, 4);
        var again = recorder.Take("t")!;
        Assert.Equal((2, 1), (again.Hits, again.Misses));
        Assert.Equal(new ModelSavings("anthropic", "claude-sonnet-4-20250514", 2, 110, 44), Assert.Single(again.Savings));
    }

    [Fact]
    public void Unreported_counts_are_added_to_the_grains_model_by_model()
    {
        var recorder = new CacheStatsRecorder();
        recorder.Hit("t", "openai", "gpt-4o", 10, 20);
        recorder.Hit("t", "openai", "o3", 1, 2);
        recorder.Miss("t");
        var fromGrain = new CacheStats(4, 4096, 4, 5, [new ModelSavings("openai", "gpt-4o", 5, 50, 100)]);

        var merged = recorder.AddPending("t", fromGrain);

        Assert.Equal((4, 4096, 6, 6), (merged.Entries, merged.Bytes, merged.Hits, merged.Misses));
        Assert.Equal(0.5, merged.HitRatio);
        Assert.Equal(
            [new ModelSavings("openai", "gpt-4o", 6, 60, 120), new ModelSavings("openai", "o3", 1, 1, 2)],
            merged.Savings.OrderBy(s => s.Model, StringComparer.Ordinal));
        Assert.Same(fromGrain, recorder.AddPending("other", fromGrain));
    }
}
