using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Roxy.Api.Pricing;
using Roxy.Api.Proxy;
using Roxy.Api.Secrets;
using Roxy.Grains;
using Roxy.Grains.Budgets;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;
using static Roxy.Tests.EndToEnd.BudgetWorstCaseFixture;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// What a budget reserves and charges when the request does not bound itself: <c>n</c> choices, no <c>max_tokens</c>
/// to a provider that writes its own, a provider that reports no usage; and tokens that could escape a budget, issued by
/// a budgeted token or on another frontend.
/// </summary>
public sealed partial class BudgetWorstCaseTests(BudgetWorstCaseFixture fixture) : IClassFixture<BudgetWorstCaseFixture>
{
    private RoxyTestHost Roxy => fixture.Roxy;

    private ModelPrices Prices => Roxy.App.Services.GetRequiredService<ModelPrices>();

    private TokenEstimator Estimator => Roxy.App.Services.GetRequiredService<TokenEstimator>();

    [Fact]
    public async Task N_choices_reserve_n_completion_budgets_in_the_budget_and_the_key_window()
    {
        var three = """{"model":"gpt-4o-mini","n":3,"max_tokens":1000,"messages":[{"role":"user","content":"three answers"}]}""";
        var (prompt, total) = EstimateChat(three, "gpt-4o-mini");
        Assert.Equal(3000, total - prompt);

        using var refused = await Roxy.PostChatAsync(TokenOf("n"), three);
        var text = await refused.Content.ReadAsStringAsync();
        Assert.True(refused.StatusCode == HttpStatusCode.TooManyRequests, text);
        var expected = Prices.Find("openai", "gpt-4o-mini")!.Value.Cost(prompt, 3000);
        AssertMayCost(text, expected, "more than the whole daily budget of tenant 'n'");

        // One choice of the same size fits the same budget.
        using var one = await Roxy.PostChatAsync(TokenOf("n"), three.Replace("\"n\":3", "\"n\":1", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("129")]
    [InlineData("-1")]
    [InlineData("2.5")]
    [InlineData("\"2\"")]
    [InlineData("true")]
    public async Task N_outside_1_to_128_is_refused_naming_n(string n)
    {
        using var response = await Roxy.PostChatAsync(TokenOf("n"), $$"""{"model":"gpt-4o-mini","n":{{n}},"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("n", error.GetProperty("param").GetString());
        Assert.Contains("from 1 to 128", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_max_tokens_an_anthropic_target_is_reserved_at_the_max_tokens_it_will_be_sent()
    {
        var upstreamCalls = fixture.Anthropic.Requests.Count;
        var body = """{"model":"anthropic:claude-sonnet-4-5","messages":[{"role":"user","content":"write at length"}]}""";
        var (prompt, _) = EstimateChat(body, "claude-sonnet-4-5");
        var claude = Prices.Find("anthropic", "claude-sonnet-4-5")!.Value;

        using var refused = await Roxy.PostChatAsync(TokenOf("claude"), body);
        var text = await refused.Content.ReadAsStringAsync();
        Assert.True(refused.StatusCode == HttpStatusCode.TooManyRequests, text);
        AssertMayCost(text, claude.Cost(prompt, Api.Providers.Anthropic.AnthropicModelDefaults.DefaultMaxTokens("claude-sonnet-4-5")), "more than the whole daily budget of tenant 'claude'");
        Assert.Equal(upstreamCalls, fixture.Anthropic.Requests.Count);

        // Failover may end on the Anthropic target of a rule: the dearest target counts, at what it would be sent.
        using var viaRule = await Roxy.PostChatAsync(TokenOf("claude"), body.Replace("anthropic:claude-sonnet-4-5", "gpt-then-claude", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.TooManyRequests, viaRule.StatusCode);

        // An OpenAI target keeps the default, and a client's max_tokens bounds an Anthropic one.
        using var openAi = await Roxy.PostChatAsync(TokenOf("claude"), body.Replace("anthropic:claude-sonnet-4-5", "openai:gpt-4o-mini", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, openAi.StatusCode);
        using var bounded = await Roxy.PostChatAsync(TokenOf("claude"), body.Replace("\"messages\"", "\"max_tokens\":1000,\"messages\"", StringComparison.Ordinal));
        Assert.True(bounded.StatusCode == HttpStatusCode.OK, await bounded.Content.ReadAsStringAsync());
        using var sent = JsonDocument.Parse(fixture.Anthropic.Requests[^1].Body);
        Assert.Equal(1000, sent.RootElement.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public async Task A_provider_that_reports_no_usage_is_charged_the_reservation_or_what_it_streamed_never_nothing()
    {
        var price = Prices.Find("hostile", "gpt-4o-mini")!.Value;
        fixture.Hostile.Answer(WithoutUsageAsync);

        var json = """{"model":"hostile:gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"no usage please"}]}""";
        var (prompt, total) = EstimateChat(json, "gpt-4o-mini");
        using (var answer = await Roxy.PostChatAsync(TokenOf("nousage"), json))
        {
            Assert.True(answer.StatusCode == HttpStatusCode.OK, await answer.Content.ReadAsStringAsync());
        }

        var afterJson = (await SettledAsync("nousage")).DaySpentUsd;
        Assert.Equal(price.Cost(prompt, total - prompt), afterJson);

        var streamed = json.Replace("\"messages\"", "\"stream\":true,\"messages\"", StringComparison.Ordinal);
        using (var answer = await Roxy.PostChatAsync(TokenOf("nousage"), streamed))
        {
            var text = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.OK, text);
            Assert.Contains("[DONE]", text, StringComparison.Ordinal);
        }

        // The prompt as estimated and a token per content chunk (three).
        Assert.Equal(afterJson + price.Cost(prompt, 3), (await SettledAsync("nousage")).DaySpentUsd);
    }

    [Fact]
    public async Task A_budgeted_token_issues_only_tokens_held_to_its_own_budget_and_the_operator_is_not_limited()
    {
        async Task<(HttpStatusCode Status, string? Param)> IssueAsync(string caller, string json)
        {
            using var response = await Roxy.SendAsync(HttpMethod.Post, "admin/tenants/issuer/tokens", caller, json);
            return (response.StatusCode, response.StatusCode == HttpStatusCode.Created ? null : (await ErrorOf(response)).GetProperty("param").GetString());
        }

        var issuer = TokenOf("issuer");
        Assert.Equal((HttpStatusCode.BadRequest, "budget"), await IssueAsync(issuer, """{"role":"member"}"""));
        Assert.Equal((HttpStatusCode.BadRequest, "budget.daily_usd"), await IssueAsync(issuer, """{"role":"member","budget":{"monthly_usd":0.1}}"""));
        Assert.Equal((HttpStatusCode.BadRequest, "budget.daily_usd"), await IssueAsync(issuer, """{"role":"member","budget":{"daily_usd":0.75}}"""));
        Assert.Equal((HttpStatusCode.Created, null), await IssueAsync(issuer, $$$"""{"role":"member","budget":{"daily_usd":{{{IssuerBudget.ToString(CultureInfo.InvariantCulture)}}}}}"""));
        Assert.Equal((HttpStatusCode.Created, null), await IssueAsync(Operator, """{"role":"member"}"""));

        using var refused = await Roxy.SendAsync(HttpMethod.Post, "admin/tenants/issuer/tokens", issuer, """{"role":"admin"}""");
        Assert.Contains("your token has a budget", (await ErrorOf(refused)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_issued_on_another_frontend_is_held_to_its_budget_on_its_first_request_here()
    {
        // This frontend holds tenant fresh's snapshot, and is not told of the token issued behind its back.
        using (var first = await Roxy.PostChatAsync(TokenOf("fresh"), Chat(100)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var secret = "roxy-elsewhere-" + Guid.NewGuid().ToString("N");
        var hash = SecretFingerprint.OfToken(secret);
        var token = new TenantToken("t-" + hash[..10], hash, TenantRole.Member, Owner.Runtime, "elsewhere", DateTimeOffset.UtcNow, new BudgetLimits(0.00001m, null));
        var issued = await Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("fresh"))
            .IssueTokenAsync(token, new AuditEntry(DateTimeOffset.UtcNow, "operator", "api", $"issue token {token.Id}"));
        Assert.Equal(TokenChangeStatus.Done, issued.Status);

        using var refused = await Roxy.PostChatAsync(secret, Chat(100));
        var text = await refused.Content.ReadAsStringAsync();
        Assert.True(refused.StatusCode == HttpStatusCode.TooManyRequests, text);
        Assert.Contains($"more than the whole daily budget of token {token.Id}", text, StringComparison.Ordinal);

        using var fits = await Roxy.PostChatAsync(secret, Chat(5));
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
    }

    private static string Chat(int maxTokens) =>
        $$"""{"model":"gpt-4o-mini","max_tokens":{{maxTokens}},"messages":[{"role":"user","content":"hi"}]}""";

    private (int Prompt, int Total) EstimateChat(string json, string model)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Null(ChatRequestReader.TryRead(bytes, out var info));
        var total = Estimator.Estimate(bytes, info, model, out var prompt);
        return (prompt, total);
    }

    private async Task<BudgetSpend> SettledAsync(string tenant)
    {
        var grain = Roxy.Grains.GetGrain<IBudgetGrain>(GrainKeys.Budget(tenant));
        await Eventually.TrueAsync(async () => (await grain.GetSpendAsync()).Leases == 0, because: "a hold was not settled");
        return await grain.GetSpendAsync();
    }

    // "may cost up to $X": X as the message rounds it, against the expected worst case.
    private static void AssertMayCost(string errorJson, decimal expected, string why)
    {
        using var doc = JsonDocument.Parse(errorJson);
        var message = doc.RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains(why, message, StringComparison.Ordinal);
        var stated = decimal.Parse(MayCost().Match(message).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(stated - expected) <= 0.000001m, $"stated {stated}, expected {expected}: {message}");
    }

    [GeneratedRegex(@"may cost up to \$([0-9.]+)")]
    private static partial Regex MayCost();

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("error").Clone();
    }

    // An OpenAI-compatible server that never says what an answer used: JSON without "usage", a stream of three content
    // chunks (the last with its finish reason) and [DONE], without a usage chunk though Roxy asks for one.
    private static async Task WithoutUsageAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body);
        var request = await reader.ReadToEndAsync();
        const string head = "{\"id\":\"chatcmpl-nousage\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",";
        if (!request.Contains("\"stream\":true", StringComparison.Ordinal))
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(head + "\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}");
            return;
        }

        ctx.Response.ContentType = "text/event-stream";
        var chunk = head + "\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"";
        await ctx.Response.WriteAsync("data: " + chunk + "a\"},\"finish_reason\":null}]}\n\n");
        await ctx.Response.WriteAsync("data: " + chunk + "b\"},\"finish_reason\":null}]}\n\n");
        await ctx.Response.WriteAsync("data: " + chunk + "c\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    }
}
