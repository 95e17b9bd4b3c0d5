using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Roxy.Api.Caching;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>The cache routes of SPEC §4a: the stats of <c>#roxy cache stats</c> and the clear of <c>#roxy cache clear</c>.</summary>
[Collection(AdminKeyRoutesGroup.Name)]
public sealed class AdminCacheRouteTests(AdminKeyRoutesFixture f)
{
    [Fact]
    public async Task Clearing_by_the_api_makes_a_cached_answer_miss_and_the_stats_show_it()
    {
        var token = AdminKeyRoutesFixture.Admin("cached");
        var (added, _) = await f.CallAsync(HttpMethod.Post, "admin/tenants/cached/keys", token, """{"provider":"openai","key":"sk-cached-tenant-key-0123456789"}""");
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);

        Assert.Equal("miss", Cache(await f.ChatAsync(token, "gpt-4o-mini", "cache me")));
        // Stored asynchronously: the same question is a hit once the entry is in.
        await Eventually.TrueAsync(async () => Cache(await f.ChatAsync(token, "gpt-4o-mini", "cache me")) == "hit", TimeSpan.FromSeconds(10), "the answer is stored");
        await Eventually.TrueAsync(async () => (await StatsAsync(token))["entries"]!.GetValue<long>() == 1, TimeSpan.FromSeconds(10), "the entry is counted");

        var stats = await StatsAsync(AdminKeyRoutesFixture.OperatorToken);
        Assert.True(stats["enabled"]!.GetValue<bool>());
        Assert.Equal("all", stats["mode"]!.GetValue<string>());
        Assert.Equal(600, stats["ttl_sec"]!.GetValue<int>());
        Assert.True(stats["hits"]!.GetValue<long>() >= 1);
        Assert.True(stats["misses"]!.GetValue<long>() >= 1);
        var model = Assert.Single(stats["models"]!.AsArray())!;
        Assert.Equal("gpt-4o-mini", model["model"]!.GetValue<string>());
        Assert.True(model["saved_usd"]!.GetValue<decimal>() > 0);

        var (cleared, body) = await f.CallAsync(HttpMethod.Delete, "admin/tenants/cached/cache", token);
        Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        Assert.Equal(1, body!["unreachable"]!.GetValue<long>());
        Assert.True(body["generation"]!.GetValue<long>() >= 1);

        Assert.Equal("miss", Cache(await f.ChatAsync(token, "gpt-4o-mini", "cache me")));
        var (_, audit) = await f.CallAsync(HttpMethod.Get, "admin/tenants/cached/audit", token);
        var entry = audit!["data"]!.AsArray().First(e => e!["action"]!.GetValue<string>() == "cache clear")!;
        Assert.Equal("api", entry["channel"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_stats_route_and_the_command_report_the_same_numbers()
    {
        var recorder = f.Roxy.App.Services.GetRequiredService<CacheStatsRecorder>();
        recorder.Hit("audit", "openai", "gpt-4o", 1000, 500);
        recorder.Miss("audit");
        var stats = await StatsAsync(AdminKeyRoutesFixture.Admin("audit"), "audit");
        Assert.Equal(1, stats["hits"]!.GetValue<long>());
        Assert.Equal(1, stats["misses"]!.GetValue<long>());
        Assert.Equal(0.5, stats["hit_ratio"]!.GetValue<double>());
        Assert.Equal(0.0075m, stats["saved_usd"]!.GetValue<decimal>());
        Assert.False(stats["enabled"]!.GetValue<bool>());

        var text = await f.SayAsync(AdminKeyRoutesFixture.Member("audit"), "#roxy cache stats");
        Assert.Contains("| 0 | 0 B | 1 | 1 | 50.0 % |", text, StringComparison.Ordinal);
        Assert.Contains("| openai | `gpt-4o` | 1 | 1000 / 500 | $0.0075 |", text, StringComparison.Ordinal);
    }

    private async Task<System.Text.Json.Nodes.JsonNode> StatsAsync(string token, string tenant = "cached")
    {
        var (response, body) = await f.CallAsync(HttpMethod.Get, $"admin/tenants/{tenant}/cache", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return body!;
    }

    private static string Cache(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("x-roxy-cache").Single();
    }
}
