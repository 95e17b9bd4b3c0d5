using System.Net;
using Microsoft.Extensions.Hosting;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;
using Xunit.Abstractions;
using static Roxy.Tests.EndToEnd.BudgetFixture;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// A budget across a deployed cluster (two silo hosts, two frontends on one PostgreSQL): both frontends spend from the
/// one budget grain, so together they stop exactly where one would; and the spend outlives the whole cluster.
/// </summary>
public sealed class BudgetClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "budget-cluster-token-0123456789";
    private const string ClusterId = "roxy-budget-cluster";
    private readonly List<IHost> _silos = [];
    private readonly Dictionary<string, string?> _env = new(StringComparer.Ordinal) { ["ROXY_TOKEN"] = Token, ["BUDGET_KEY"] = "sk-budget-cluster-0123456789" };
    private FakeOpenAiServer _upstream = null!;
    private string _postgres = null!;
    private RoxyTestHost _a = null!;
    private RoxyTestHost _b = null!;

    private string Yaml => $$"""
        tokens: [{ token_env: ROXY_TOKEN, role: admin }]
        budget: { daily_usd: 0.0001 }
        api_keys: [{ key_env_var: BUDGET_KEY, provider: openai }]
        providers:
          openai: { base_url: "{{_upstream.BaseUrl}}" }
        cluster: { mode: cluster, cluster_id: {{ClusterId}} }
        cache: { enabled: false }
        """;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAiServer.StartAsync();
        _postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("budget_cluster");
        await StartClusterAsync();
    }

    private async Task StartClusterAsync()
    {
        _silos.Add(await SiloHost.StartAsync(_postgres, ClusterId));
        _silos.Add(await SiloHost.StartAsync(_postgres, ClusterId));
        _a = await RoxyTestHost.StartAsync(Yaml, _env, _postgres);
        _b = await RoxyTestHost.StartAsync(Yaml, _env, _postgres);
    }

    private async Task StopClusterAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        foreach (var silo in _silos)
        {
            await SiloHost.StopAsync(silo);
        }

        _silos.Clear();
    }

    public async Task DisposeAsync()
    {
        await StopClusterAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Two_frontends_share_one_budget_exactly_and_it_survives_a_restart_of_the_cluster()
    {
        var body = Body("two frontends");
        var (_, worst) = Estimate(_a, body);
        var (answered, cost) = (0, 0m);
        for (var i = 0; ; i++)
        {
            // Turn by turn, each settled before the next: the two frontends between them see one sequence.
            var frontend = i % 2 == 0 ? _a : _b;
            using var response = await frontend.PostChatAsync(Token, body);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Contains("\"code\":\"budget_exceeded\"", text, StringComparison.Ordinal);
                break;
            }

            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            answered++;
            cost += CostOf(frontend, text);
            await SettledAsync(frontend, "default");
            Assert.True(i < 200, "never refused");
        }

        Assert.Equal(Fitting(0.0001m, worst, cost / answered), answered);
        Assert.InRange(answered, 3, 100); // both frontends answered some
        var spend = await SettledAsync(_b, "default");
        Assert.Equal(cost, spend.DaySpentUsd);
        using (var other = await (answered % 2 == 0 ? _b : _a).PostChatAsync(Token, body))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, other.StatusCode);
        }

        // Silos stopped and started again: the spend comes back from PostgreSQL, and so does the refusal.
        await StopClusterAsync();
        await StartClusterAsync();
        Assert.Equal(spend.DaySpentUsd, (await Budget(_a, "default").GetSpendAsync()).DaySpentUsd);
        using var again = await _a.PostChatAsync(Token, body);
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
    }

    [Fact]
    public async Task Concurrent_requests_on_both_frontends_never_spend_past_the_limit_by_more_than_the_estimate_gap()
    {
        _upstream.SetKeyBehavior(_env["BUDGET_KEY"]!, new FakeResponse { DelayBeforeHeaders = TimeSpan.FromMilliseconds(200), DelayBetweenEvents = TimeSpan.FromMilliseconds(20) });
        var attempts = Enumerable.Range(0, 40).Select(async i =>
        {
            var frontend = i % 2 == 0 ? _a : _b;
            var json = Body($"burst {i}", stream: i % 4 < 2);
            using var response = await frontend.PostChatAsync(Token, json);
            return (json, response.StatusCode, Text: await response.Content.ReadAsStringAsync());
        });
        var results = await Task.WhenAll(attempts);

        var answered = results.Where(r => r.StatusCode == HttpStatusCode.OK).ToArray();
        Assert.NotEmpty(answered);
        Assert.Contains(results, r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Equal(40, answered.Length + results.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        var costs = answered.Select(r => (Cost: CostOf(_a, r.Text), Estimate(_a, r.json).WorstCase)).ToArray();
        var gap = costs.Sum(c => Math.Max(0, c.Cost - c.WorstCase));
        var spend = await SettledAsync(_a, "default");
        Assert.Equal(costs.Sum(c => c.Cost), spend.DaySpentUsd);
        output.WriteLine($"budget 0.0001 USD over two frontends: {answered.Length} answered, spent {spend.DaySpentUsd} USD, over by {Math.Max(0, spend.DaySpentUsd - 0.0001m)} USD, bound {gap} USD");
        Assert.True(spend.DaySpentUsd <= 0.0001m + gap, $"spent {spend.DaySpentUsd} (gap {gap})");
    }
}
