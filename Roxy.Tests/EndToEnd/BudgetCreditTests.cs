using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Roxy.Api.Budgets;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;
using Xunit.Abstractions;
using static Roxy.Tests.EndToEnd.BudgetFixture;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Budget credits across a deployed cluster (two silo hosts, two frontends on one PostgreSQL): busy frontends draw on
/// credits instead of calling the grain, yet together never spend past the limit; idle credits come back, and a
/// frontend that stops hands its credits back before it goes.
/// </summary>
public sealed class BudgetCreditTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string ClusterId = "roxy-budget-credits";
    private const decimal Limit = 0.002m;
    private readonly List<IHost> _silos = [];
    private readonly Dictionary<string, string?> _env = new(StringComparer.Ordinal)
    {
        ["ROXY_TOKEN"] = "budget-credit-admin-0123456789",
        ["HAMMER_TOKEN"] = "budget-credit-hammer-0123456789",
        ["STOP_TOKEN"] = "budget-credit-stop-0123456789",
        ["CREDIT_KEY"] = "sk-budget-credit-0123456789",
        ["STOP_KEY"] = "sk-budget-credit-stop-0123456789",
    };

    private FakeOpenAiServer _upstream = null!;
    private string _postgres = null!;
    private RoxyTestHost _a = null!;
    private RoxyTestHost _b = null!;

    private string Yaml => $$"""
        tokens: [{ token_env: ROXY_TOKEN, role: admin }]
        providers:
          openai: { base_url: "{{_upstream.BaseUrl}}" }
        cluster: { mode: cluster, cluster_id: {{ClusterId}} }
        cache: { enabled: false }
        tenants:
          - id: hammer
            budget: { daily_usd: {{Limit.ToString(System.Globalization.CultureInfo.InvariantCulture)}} }
            tokens: [{ token_env: HAMMER_TOKEN, role: member }]
            api_keys: [{ key_env_var: CREDIT_KEY, provider: openai, max_rpm: 100000, max_tpm: 1000000000 }]
          - id: stop
            budget: { daily_usd: 1 }
            tokens: [{ token_env: STOP_TOKEN, role: member }]
            api_keys: [{ key_env_var: STOP_KEY, provider: openai, max_rpm: 100000, max_tpm: 1000000000 }]
        """;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAiServer.StartAsync();
        _postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("budget_credits");
        _silos.Add(await SiloHost.StartAsync(_postgres, ClusterId));
        _silos.Add(await SiloHost.StartAsync(_postgres, ClusterId));
        _a = await RoxyTestHost.StartAsync(Yaml, _env, _postgres);
        _b = await RoxyTestHost.StartAsync(Yaml, _env, _postgres);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        foreach (var silo in _silos)
        {
            await SiloHost.StopAsync(silo);
        }

        await _upstream.DisposeAsync();
    }

    private static BudgetCreditLine Line(RoxyTestHost host, string tenant) =>
        host.App.Services.GetRequiredService<BudgetGate>().Line(tenant, null);

    // Sends requests from `workers` concurrent loops until each has been refused once.
    private static async Task<List<(string Json, string Text)>> HammerAsync(RoxyTestHost host, string token, int workers, int maxEach)
    {
        var answered = new List<(string, string)>();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            for (var i = 0; i < maxEach; i++)
            {
                var json = Body($"credit {w} {i}", maxTokens: 20 + (i % 3));
                using var response = await host.PostChatAsync(token, json);
                var text = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    Assert.Contains("\"code\":\"budget_exceeded\"", text, StringComparison.Ordinal);
                    return;
                }

                Assert.True(response.StatusCode == HttpStatusCode.OK, text);
                lock (answered)
                {
                    answered.Add((json, text));
                }
            }
        }));
        return answered;
    }

    [Fact]
    public async Task Two_busy_frontends_draw_on_credits_and_together_never_spend_past_the_limit_and_idle_credits_come_back()
    {
        var both = await Task.WhenAll(HammerAsync(_a, _env["HAMMER_TOKEN"]!, 8, 400), HammerAsync(_b, _env["HAMMER_TOKEN"]!, 8, 400));

        // Both frontends served requests from credits, not only by reserving with the grain.
        Assert.True(Line(_a, "hammer").Draws > 0, "frontend A never drew on a credit");
        Assert.True(Line(_b, "hammer").Draws > 0, "frontend B never drew on a credit");

        var answers = both[0].Concat(both[1]).ToArray();
        var costs = answers.Select(r => (Cost: CostOf(_a, r.Text), Estimate(_a, r.Json).WorstCase)).ToArray();
        var gap = costs.Sum(c => Math.Max(0, c.Cost - c.WorstCase));
        // Leases == 0 needs every credit back too: idle credits are handed back, with the last of their spend.
        var spend = await SettledAsync(_a, "hammer");
        output.WriteLine($"budget {Limit} USD, two frontends x 8: {answers.Length} answered ({Line(_a, "hammer").Draws} + {Line(_b, "hammer").Draws} from credits), spent {spend.DaySpentUsd} USD, gap bound {gap} USD");
        Assert.Equal(0, spend.Credits);
        Assert.Equal(0m, spend.ReservedUsd);
        Assert.Equal(costs.Sum(c => c.Cost), spend.DaySpentUsd);
        Assert.True(spend.DaySpentUsd <= Limit + gap, $"spent {spend.DaySpentUsd} of {Limit} (gap {gap})");
        // Credits near the limit shrink and stop, so neither frontend's credit starves the other's requests of most of the budget.
        Assert.True(spend.DaySpentUsd > Limit * 0.75m, $"spent only {spend.DaySpentUsd} of {Limit}");

        // Workers stop at their first refusal, which requests in flight may cause: one at a time, what is left is spent
        // up to the limit and no further, and the spend is still exact.
        var rest = await HammerAsync(_b, _env["HAMMER_TOKEN"]!, 1, 50);
        Assert.True(rest.Count < 50, "never refused");
        var total = costs.Sum(c => c.Cost) + rest.Sum(r => CostOf(_b, r.Text));
        var last = await SettledAsync(_b, "hammer");
        Assert.Equal(total, last.DaySpentUsd);
        Assert.True(last.DaySpentUsd <= Limit + gap + rest.Sum(r => Math.Max(0, CostOf(_b, r.Text) - Estimate(_b, r.Json).WorstCase)), $"spent {last.DaySpentUsd} of {Limit}");
    }

    [Fact]
    public async Task A_frontend_that_stops_hands_its_credits_back_before_it_goes()
    {
        var third = await RoxyTestHost.StartAsync(Yaml, _env, _postgres);
        var disposed = false;
        try
        {
            var token = _env["STOP_TOKEN"]!;
            await Task.WhenAll(Enumerable.Range(0, 4).Select(async w =>
            {
                for (var i = 0; i < 25; i++)
                {
                    using var response = await third.PostChatAsync(token, Body($"stop {w} {i}"));
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                }
            }));
            Assert.True(Line(third, "stop").Draws > 0, "no request drew on a credit");

            var grain = Budget(_a, "stop");
            var before = await grain.GetSpendAsync();
            await third.DisposeAsync();
            disposed = true;

            // Stopped: nothing it held is left in the grain, and everything it spent is counted.
            var after = await grain.GetSpendAsync();
            output.WriteLine($"before stop: {before.Credits} credits, {before.ReservedUsd} USD held; after: {after.Credits}, {after.ReservedUsd}");
            Assert.Equal((0, 0m, 0), (after.Credits, after.ReservedUsd, after.Leases));
            Assert.True(after.DaySpentUsd > 0);
        }
        finally
        {
            if (!disposed)
            {
                await third.DisposeAsync();
            }
        }
    }
}
