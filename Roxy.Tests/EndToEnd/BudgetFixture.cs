using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Roxy.Api.Pricing;
using Roxy.Api.Proxy;
using Roxy.FakeUpstream;
using Roxy.Grains;
using Roxy.Grains.Budgets;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// One Roxy in front of one fake OpenAI upstream, with a budgeted tenant per test (so spends never mix). Requests go to
/// gpt-4o-mini, priced by Roxy's own table; expected costs are computed from the usage the answers report and the
/// prompt estimate Roxy's tokenizer makes, never written into the test.
/// </summary>
public sealed class BudgetFixture : IAsyncLifetime
{
    public const string Model = "gpt-4o-mini";

    /// <summary>Tenants with a daily budget of <see cref="SmallBudget"/> each; token = "tok-{tenant}…".</summary>
    public static readonly string[] SmallTenants = ["seq", "conc", "shape", "cached"];

    /// <summary>About a dozen small requests: enough to reach the limit in a few seconds.</summary>
    public const decimal SmallBudget = 0.0001m;

    /// <summary>The daily limit of token <see cref="LimitedToken"/> of tenant <c>tok</c>, whose own budget is $1.</summary>
    public const decimal TokenBudget = 0.00005m;

    public const string LimitedToken = "tok-limited-token-0123456789";
    public const string FreeToken = "tok-free-token-0123456789";

    public FakeOpenAiServer Upstream { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;

    public static string TokenOf(string tenant) => $"tok-{tenant}-budget-0123456789";

    public static string KeyOf(string tenant) => $"sk-{tenant}-budget-abcdefghijklmnop";

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("budget");
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ROXY_TOKEN"] = "budget-default-token-0123456789",
            ["LIMITED_TOKEN"] = LimitedToken,
            ["FREE_TOKEN"] = FreeToken,
        };
        foreach (var tenant in SmallTenants.Concat(["cut", "tok", "monthly"]))
        {
            env[Var(tenant, "TOKEN")] = TokenOf(tenant);
            env[Var(tenant, "KEY")] = KeyOf(tenant);
        }

        var small = string.Concat(SmallTenants.Select(t => $$"""
              - id: {{t}}
                budget: { daily_usd: {{Usd(SmallBudget)}} }
                tokens: [{ token_env: {{Var(t, "TOKEN")}}, role: admin }]
                api_keys: [{ key_env_var: {{Var(t, "KEY")}}, provider: openai }]
            {{(t == "cached" ? "    cache: { enabled: true }" : "")}}
            """ + "\n"));
        var yaml = $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            providers:
              openai: { base_url: "{{Upstream.BaseUrl}}" }
            # budgets are about the upstream path; only tenant 'cached' turns the prompt cache on
            cache: { enabled: false }
            tenants:
            {{small}}
              - id: cut
                budget: { daily_usd: 1 }
                tokens: [{ token_env: {{Var("cut", "TOKEN")}}, role: admin }]
                api_keys: [{ key_env_var: {{Var("cut", "KEY")}}, provider: openai }]
              - id: monthly
                budget: { monthly_usd: {{Usd(SmallBudget)}} }
                tokens: [{ token_env: {{Var("monthly", "TOKEN")}}, role: admin }]
                api_keys: [{ key_env_var: {{Var("monthly", "KEY")}}, provider: openai }]
              - id: tok
                budget: { daily_usd: 1 }
                tokens:
                  - { token_env: LIMITED_TOKEN, role: member, budget: { daily_usd: {{Usd(TokenBudget)}} } }
                  - { token_env: FREE_TOKEN, role: member }
                api_keys: [{ key_env_var: {{Var("tok", "KEY")}}, provider: openai }]
            """;
        Roxy = await RoxyTestHost.StartAsync(yaml, env, postgres);
    }

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    private static string Usd(decimal amount) => amount.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Var(string tenant, string suffix) => $"B_{tenant.ToUpperInvariant()}_{suffix}";

    public static string Body(string content, int maxTokens = 20, bool stream = false) => stream
        ? $$"""{"model":"{{Model}}","max_tokens":{{maxTokens}},"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"{{content}}"}]}"""
        : $$"""{"model":"{{Model}}","max_tokens":{{maxTokens}},"messages":[{"role":"user","content":"{{content}}"}]}""";

    public ModelPrices.Price Price => Roxy.App.Services.GetRequiredService<ModelPrices>().Find("openai", Model)!.Value;

    public static ModelPrices.Price PriceIn(RoxyTestHost host) => host.App.Services.GetRequiredService<ModelPrices>().Find("openai", Model)!.Value;

    /// <summary>What Roxy reserves for <paramref name="json"/>: its prompt estimate at input price, the rest of the estimate at output price.</summary>
    public static (int Prompt, decimal WorstCase) Estimate(RoxyTestHost host, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Null(ChatRequestReader.TryRead(bytes, out var info));
        var total = host.App.Services.GetRequiredService<TokenEstimator>().Estimate(bytes, info, Model, out var prompt);
        return (prompt, PriceIn(host).Cost(prompt, total - prompt));
    }

    public static IBudgetGrain Budget(RoxyTestHost host, string tenant, string? tokenId = null) =>
        host.Grains.GetGrain<IBudgetGrain>(GrainKeys.Budget(tenant, tokenId));

    /// <summary>Settlements are one-way: waits until the grain has every hold back.</summary>
    public static async Task<BudgetSpend> SettledAsync(RoxyTestHost host, string tenant, string? tokenId = null)
    {
        await Eventually.TrueAsync(async () => (await Budget(host, tenant, tokenId).GetSpendAsync()).Leases == 0, because: "a hold was not settled");
        return await Budget(host, tenant, tokenId).GetSpendAsync();
    }

    /// <summary>The cost of an answer from the usage it reports (a non-streamed body, or a stream's usage chunk).</summary>
    public static decimal CostOf(RoxyTestHost host, string answer)
    {
        var json = answer.StartsWith('{')
            ? answer
            : answer.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal) && l.Contains("\"usage\":{", StringComparison.Ordinal)).Select(l => l[6..]).Single();
        using var doc = JsonDocument.Parse(json);
        var usage = doc.RootElement.GetProperty("usage");
        var cached = usage.TryGetProperty("prompt_tokens_details", out var details) && details.ValueKind == JsonValueKind.Object
            ? details.GetProperty("cached_tokens").GetInt64()
            : 0;
        return PriceIn(host).Cost(usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64(), cached);
    }

    /// <summary>How many identical requests fit: each is granted while settled spend plus its worst case stays within the limit.</summary>
    public static int Fitting(decimal limit, decimal worstCase, decimal cost)
    {
        var (spent, count) = (0m, 0);
        while (spent < limit && spent + worstCase <= limit)
        {
            spent += cost;
            count++;
        }

        return count;
    }

    /// <summary>Sends <paramref name="json"/> one at a time, each settled before the next, until one is refused; returns the answers' total cost.</summary>
    public static async Task<(int Answered, decimal Cost, HttpResponseMessage Refusal)> SpendUntilRefusedAsync(
        RoxyTestHost host, string tenant, string token, Func<int, string> json, int max = 200)
    {
        var (answered, cost) = (0, 0m);
        for (var i = 0; i < max; i++)
        {
            var response = await host.PostChatAsync(token, json(i));
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                return (answered, cost, response);
            }

            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            answered++;
            cost += CostOf(host, text);
            response.Dispose();
            await SettledAsync(host, tenant);
        }

        throw new Xunit.Sdk.XunitException($"{max} requests and none was refused");
    }
}

[CollectionDefinition(Name)]
public sealed class BudgetGroup : ICollectionFixture<BudgetFixture>
{
    public const string Name = "budget";
}
