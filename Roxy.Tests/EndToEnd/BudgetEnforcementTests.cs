using System.Globalization;
using System.Net;
using System.Text.Json;
using Roxy.Api.Secrets;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;
using Xunit.Abstractions;
using static Roxy.Tests.EndToEnd.BudgetFixture;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// SPEC §6's budgets through the proxy: the worst case reserved before the upstream call and settled to the real cost
/// after, so sequential, concurrent, streamed and cut-off requests all stop at the limit.
/// </summary>
[Collection(BudgetGroup.Name)]
public sealed class BudgetEnforcementTests(BudgetFixture fixture, ITestOutputHelper output)
{
    private RoxyTestHost Roxy => fixture.Roxy;

    [Fact]
    public async Task Sequential_requests_stop_exactly_where_the_next_worst_case_would_cross_the_limit()
    {
        var body = Body("hello budget");
        var (_, worst) = Estimate(Roxy, body);

        var (answered, cost, refusal) = await SpendUntilRefusedAsync(Roxy, "seq", TokenOf("seq"), _ => body);

        var each = cost / answered;
        Assert.Equal(Fitting(SmallBudget, worst, each), answered);
        Assert.InRange(answered, 2, 100);
        var spend = await SettledAsync(Roxy, "seq");
        Assert.Equal(cost, spend.DaySpentUsd);
        Assert.True(spend.DaySpentUsd <= SmallBudget);
        Assert.Equal("budget_exceeded", await CodeOf(refusal));
    }

    [Fact]
    public async Task Fifty_concurrent_requests_streaming_and_not_never_spend_past_the_limit_by_more_than_the_estimate_gap()
    {
        // Slow answers, so that many requests are in flight at once and only their holds keep them apart.
        Upstream.SetKeyBehavior(KeyOf("conc"), new FakeResponse { DelayBeforeHeaders = TimeSpan.FromMilliseconds(200), DelayBetweenEvents = TimeSpan.FromMilliseconds(20) });
        var bodies = Enumerable.Range(0, 50).Select(i => Body($"concurrent {i}", stream: i % 2 == 0)).ToArray();
        var attempts = bodies.Select(async json =>
        {
            using var response = await Roxy.PostChatAsync(TokenOf("conc"), json);
            return (json, response.StatusCode, Text: await response.Content.ReadAsStringAsync());
        });
        var results = await Task.WhenAll(attempts);

        var answered = results.Where(r => r.StatusCode == HttpStatusCode.OK).ToArray();
        var refused = results.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToArray();
        Assert.Equal(50, answered.Length + refused.Length);
        Assert.NotEmpty(answered);
        Assert.NotEmpty(refused);
        Assert.Contains(answered, r => r.json.Contains("\"stream\":true", StringComparison.Ordinal));
        Assert.All(refused, r => Assert.Contains("\"code\":\"budget_exceeded\"", r.Text, StringComparison.Ordinal));

        // Each answer costs what its usage says; where that is above what was reserved for it, the difference is
        // the most the budget can be passed by.
        var costs = answered.Select(r => (Cost: CostOf(Roxy, r.Text), Estimate(Roxy, r.json).WorstCase)).ToArray();
        var gap = costs.Sum(c => Math.Max(0, c.Cost - c.WorstCase));
        var spend = await SettledAsync(Roxy, "conc");
        Assert.Equal(costs.Sum(c => c.Cost), spend.DaySpentUsd);
        // For the record (dotnet test --logger "console;verbosity=detailed"): how far spend went past the limit, if at all.
        output.WriteLine($"budget {SmallBudget} USD: {answered.Length} answered, {refused.Length} refused, spent {spend.DaySpentUsd} USD, over by {Math.Max(0, spend.DaySpentUsd - SmallBudget)} USD, bound {gap} USD");
        Assert.True(spend.DaySpentUsd <= SmallBudget + gap, $"spent {spend.DaySpentUsd} of {SmallBudget} (gap {gap})");
        Assert.Equal(0m, spend.ReservedUsd);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_is_charged_for_what_was_streamed()
    {
        Upstream.SetKeyBehavior(KeyOf("cut"), new FakeResponse { ContentChunks = 40, DelayBetweenEvents = TimeSpan.FromMilliseconds(100) });
        var body = Body("stream slowly", maxTokens: 1000, stream: true);
        var (prompt, worst) = Estimate(Roxy, body);
        var seen = 0;
        using (var response = await Roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", TokenOf("cut"), body, completion: HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (seen < 3 && await reader.ReadLineAsync() is { } line)
            {
                seen += line.Contains("\"content\":\"", StringComparison.Ordinal) ? 1 : 0;
            }
        }

        var spend = await SettledAsync(Roxy, "cut");
        var price = fixture.Price;
        // The prompt and at least the chunks the client read, far from the 1000 tokens reserved or the 40 the upstream had.
        Assert.InRange(spend.DaySpentUsd, price.Cost(prompt, seen), price.Cost(prompt, 39));
        Assert.True(spend.DaySpentUsd < worst);
    }

    [Fact]
    public async Task A_token_budget_stops_its_token_while_the_tenant_and_its_other_tokens_go_on()
    {
        var tokenId = "t-" + SecretFingerprint.OfToken(LimitedToken)[..10];
        var body = Body("token budget");
        var (_, worst) = Estimate(Roxy, body);
        var (answered, cost, refusal) = await SpendUntilRefusedAsync(Roxy, "tok", LimitedToken, _ => body);

        Assert.Equal(Fitting(TokenBudget, worst, cost / answered), answered);
        var message = await MessageOf(refusal);
        Assert.Contains($"daily budget of token {tokenId} is $0.00005", message, StringComparison.Ordinal);
        Assert.Equal(cost, (await SettledAsync(Roxy, "tok", tokenId)).DaySpentUsd);

        using var free = await Roxy.PostChatAsync(FreeToken, body);
        var freeText = await free.Content.ReadAsStringAsync();
        Assert.True(free.StatusCode == HttpStatusCode.OK, freeText);
        var tenant = await SettledAsync(Roxy, "tok");
        Assert.Equal(cost + CostOf(Roxy, freeText), tenant.DaySpentUsd);
        Assert.Equal(cost, (await Budget(Roxy, "tok", tokenId).GetSpendAsync()).DaySpentUsd);
    }

    [Fact]
    public async Task Cache_hits_cost_nothing_but_a_spent_budget_refuses_them_too()
    {
        var cachedBody = Body("cache me");
        var first = await Roxy.PostChatAsync(TokenOf("cached"), cachedBody);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var spent = CostOf(Roxy, await first.Content.ReadAsStringAsync());

        // The store is asynchronous: ask again until the answer comes from the cache (a miss on the way is paid for).
        HttpResponseMessage hit;
        while (true)
        {
            var before = (await SettledAsync(Roxy, "cached")).DaySpentUsd;
            hit = await Roxy.PostChatAsync(TokenOf("cached"), cachedBody);
            Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
            var text = await hit.Content.ReadAsStringAsync();
            if (hit.Headers.GetValues("x-roxy-cache").Single() == "hit")
            {
                var after = await SettledAsync(Roxy, "cached");
                Assert.Equal(before, after.DaySpentUsd); // the hit's hold was released and nothing charged
                Assert.Equal(0m, after.ReservedUsd);
                break;
            }

            spent += CostOf(Roxy, text);
        }

        Assert.Equal(spent, (await SettledAsync(Roxy, "cached")).DaySpentUsd);
        var (_, cost, _) = await SpendUntilRefusedAsync(Roxy, "cached", TokenOf("cached"), i => Body($"fill {i}"));
        Assert.Equal(spent + cost, (await SettledAsync(Roxy, "cached")).DaySpentUsd);

        using var refused = await Roxy.PostChatAsync(TokenOf("cached"), cachedBody);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("budget_exceeded", await CodeOf(refused));
    }

    [Fact]
    public async Task A_request_whose_worst_case_alone_is_over_the_limit_is_told_to_lower_max_tokens()
    {
        var upstreamCalls = Upstream.CountFor(KeyOf("shape"));
        using var response = await Roxy.PostChatAsync(TokenOf("shape"), Body("too big", maxTokens: 100_000));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(("budget_exceeded", "budget_exceeded", JsonValueKind.Null), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString(), error.GetProperty("param").ValueKind));
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("more than the whole daily budget of tenant 'shape' ($0.0001)", message, StringComparison.Ordinal);
        Assert.Contains("Lower max_tokens", message, StringComparison.Ordinal);
        AssertRetryAfter(response, NextUtcMidnight());
        Assert.Equal(upstreamCalls, Upstream.CountFor(KeyOf("shape"))); // refused before any upstream call
    }

    [Fact]
    public async Task A_spent_budget_is_429_with_Retry_After_to_the_reset_in_both_protocols()
    {
        var (_, _, refusal) = await SpendUntilRefusedAsync(Roxy, "shape", TokenOf("shape"), i => Body($"shape {i}"));
        var message = await MessageOf(refusal);
        Assert.Contains("the daily budget of tenant 'shape' is $0.0001", message, StringComparison.Ordinal);
        AssertRetryAfter(refusal, NextUtcMidnight());

        await SpendUntilRefusedAsync(Roxy, "monthly", TokenOf("monthly"), i => Body($"month {i}"));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Roxy.BaseUrl, "v1/messages"))
        {
            Content = new StringContent($$"""{"model":"{{Model}}","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", TokenOf("monthly"));
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var http = new HttpClient();
        using var anthropic = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.TooManyRequests, anthropic.StatusCode);
        using var doc = JsonDocument.Parse(await anthropic.Content.ReadAsStringAsync());
        Assert.Equal("error", doc.RootElement.GetProperty("type").GetString());
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.Contains("the monthly budget of tenant 'monthly' is $0.0001", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        var now = DateTimeOffset.UtcNow;
        AssertRetryAfter(anthropic, new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1));
    }

    private FakeOpenAiServer Upstream => fixture.Upstream;

    private static DateTimeOffset NextUtcMidnight() => new(DateTime.UtcNow.Date.AddDays(1), TimeSpan.Zero);

    private static void AssertRetryAfter(HttpResponseMessage response, DateTimeOffset reset)
    {
        var seconds = int.Parse(response.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture);
        var expected = (int)Math.Ceiling((reset - DateTimeOffset.UtcNow).TotalSeconds);
        // Counted by Roxy a moment before this line counts it.
        Assert.InRange(seconds, expected - 60, expected + 1);
    }

    private static async Task<string> CodeOf(HttpResponseMessage response)
    {
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("error").GetProperty("code").GetString()!;
    }

    private static async Task<string> MessageOf(HttpResponseMessage response)
    {
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("error").GetProperty("message").GetString()!;
    }
}
