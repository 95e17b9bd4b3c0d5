using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Roxy.Api.Observability;
using Roxy.Api.Pricing;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// <c>/metrics</c> after known traffic (SPEC §9, issue 12 item 1): scraped over HTTP without a token, parsed as
/// Prometheus text, and checked against what the responses and the fake upstream saw: counts, bucket boundaries,
/// labels, the absence of any client-chosen label value and of every secret and prompt.
/// </summary>
public sealed class MetricsTests(MetricsFixture f) : IClassFixture<MetricsFixture>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    // The conventions' advised boundaries (SPEC §9 / issue 12), as the scrape must show them.
    private static readonly double[] DurationBounds = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] FirstTokenBounds = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
    private static readonly double[] TokenBounds = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    [Fact]
    public async Task Known_traffic_is_counted_under_the_semantic_convention_names_with_the_advised_buckets()
    {
        const string tenant = "m-plain";
        var (rule, target) = MetricsFixture.Rules[tenant];
        var usages = new List<(long Prompt, long Completion)>();
        for (var i = 0; i < 2; i++)
        {
            using var response = await PostAsync(tenant, Body(rule, $"metrics plain prompt {i}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            usages.Add(UsageOf(await response.Content.ReadAsStringAsync()));
        }

        using (var streamed = await PostAsync(tenant, Body(rule, "metrics plain streamed prompt", stream: true)))
        {
            Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
            usages.Add(StreamUsageOf(await streamed.Content.ReadAsStringAsync()));
        }

        var scrape = await ScrapeAsync();

        Assert.Equal(3, scrape.Sum("roxy_requests_total", ("roxy_tenant", tenant), ("http_response_status_code", "200"), ("roxy_cache_result", "bypass")));
        Assert.Equal(3, scrape.Sum("roxy_cache_lookups_total", ("roxy_tenant", tenant), ("roxy_cache_result", "bypass")));

        // Client-facing: the rule's name as asked, the target that answered.
        var server = scrape.Where("gen_ai_server_request_duration_seconds_count", ("gen_ai_request_model", rule)).ToList();
        var answered = Assert.Single(server);
        Assert.Equal(("chat", "openai", target, 3.0), (answered.Labels["gen_ai_operation_name"], answered.Labels["gen_ai_provider_name"], answered.Labels["gen_ai_response_model"], answered.Value));
        Assert.False(answered.Labels.ContainsKey("error_type"));
        Assert.Equal(1, scrape.Sum("gen_ai_server_time_to_first_token_seconds_count", ("gen_ai_request_model", rule)));

        // Roxy → provider: one attempt each, and the billed tokens as the provider reported them.
        Assert.Equal(3, scrape.Sum("gen_ai_client_operation_duration_seconds_count", ("gen_ai_request_model", target), ("gen_ai_provider_name", "openai")));
        Assert.Equal(3, scrape.Sum("gen_ai_client_token_usage_count", ("gen_ai_request_model", target), ("gen_ai_token_type", "input")));
        Assert.Equal(usages.Sum(u => u.Prompt), scrape.Sum("gen_ai_client_token_usage_sum", ("gen_ai_request_model", target), ("gen_ai_token_type", "input")));
        Assert.Equal(usages.Sum(u => u.Completion), scrape.Sum("gen_ai_client_token_usage_sum", ("gen_ai_request_model", target), ("gen_ai_token_type", "output")));

        var price = f.Roxy.App.Services.GetRequiredService<ModelPrices>().Find("openai", target)!.Value;
        var spent = (double)usages.Sum(u => price.Cost(u.Prompt, u.Completion));
        Assert.InRange(scrape.Sum("roxy_cost_usd_total", ("roxy_tenant", tenant), ("roxy_cost_kind", "spent")), spent * 0.999999, spent * 1.000001);

        AssertBuckets(scrape, "gen_ai_client_operation_duration_seconds", DurationBounds, 3, ("gen_ai_request_model", target));
        AssertBuckets(scrape, "gen_ai_server_request_duration_seconds", DurationBounds, 3, ("gen_ai_request_model", rule));
        AssertBuckets(scrape, "gen_ai_server_time_to_first_token_seconds", FirstTokenBounds, 1, ("gen_ai_request_model", rule));
        AssertBuckets(scrape, "gen_ai_client_token_usage", TokenBounds, 3, ("gen_ai_request_model", target), ("gen_ai_token_type", "input"));

        // ASP.NET Core's hosting meter records although its log category is off (RoxyHost), and Orleans' meter is there.
        Assert.True(scrape.Where("http_server_request_duration_seconds_count").Where(s => s.Labels.GetValueOrDefault("http_route") == "/v1/chat/completions").Sum(s => s.Value) >= 3);
        Assert.Contains(scrape.Samples, s => s.Name.StartsWith("kestrel_", StringComparison.Ordinal));
        Assert.Contains(scrape.Samples, s => s.Name.StartsWith("orleans_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rate_limited_key_fails_over_and_shows_as_an_upstream_error_and_a_cooling_key()
    {
        const string tenant = "m-fail";
        var (rule, target) = MetricsFixture.Rules[tenant];
        var limited = MetricsFixture.SecretOf(tenant, 1);
        f.Upstream.SetKeyBehavior(limited, FakeResponse.RateLimited(retryAfterSeconds: 60));

        // Two requests: whichever key the first takes, the second takes the other, so the limited one answers 429 once.
        for (var i = 0; i < 2; i++)
        {
            using var response = await PostAsync(tenant, Body(rule, $"metrics failover prompt {i}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var refused = f.Upstream.CountFor(limited);
        Assert.True(refused >= 1, "the rate-limited key was never tried");
        var scrape = await ScrapeAsync();

        Assert.Equal(refused, scrape.Sum("roxy_upstream_errors_total", ("roxy_provider", "openai"), ("roxy_upstream_signal", "rate_limited")));
        Assert.Equal(refused, scrape.Sum("gen_ai_client_operation_duration_seconds_count", ("gen_ai_request_model", target), ("error_type", "rate_limited")));
        Assert.Equal(2, scrape.Where("gen_ai_client_operation_duration_seconds_count", ("gen_ai_request_model", target)).Where(s => !s.Labels.ContainsKey("error_type")).Sum(s => s.Value));
        Assert.Equal(2, scrape.Sum("roxy_requests_total", ("roxy_tenant", tenant), ("http_response_status_code", "200")));
        Assert.Equal(2, scrape.Sum("gen_ai_server_request_duration_seconds_count", ("gen_ai_request_model", rule)));

        // The gauge is read in the background on a scrape; the cooling key shows up on a later one.
        await Eventually.TrueAsync(
            async () => (await ScrapeAsync()).Sum("roxy_keys", ("roxy_provider", "openai"), ("roxy_key_state", "cooling")) == 1,
            TimeSpan.FromSeconds(15),
            "roxy_keys never showed the rate-limited key as cooling");
        var keys = await ScrapeAsync();
        var configured = MetricsFixture.Tenants.Count(t => MetricsFixture.ProviderOf(t) == "openai") * 2;
        Assert.Equal(configured, keys.Sum("roxy_keys", ("roxy_provider", "openai")));
    }

    [Fact]
    public async Task A_wait_for_a_key_to_come_back_is_counted_with_its_seconds()
    {
        const string tenant = "m-wait";
        var (rule, target) = MetricsFixture.Rules[tenant];
        // Both keys answer 429 without a hint: each cools for its cooldown_sec (1 s), within the 2.5 s wait budget.
        f.Upstream.Enqueue(FakeResponse.Error(429, "rate_limit_error", "rate_limit_exceeded", "slow down"));
        f.Upstream.Enqueue(FakeResponse.Error(429, "rate_limit_error", "rate_limit_exceeded", "slow down"));
        using var response = await PostAsync(tenant, Body(rule, "metrics wait prompt"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var scrape = await ScrapeAsync();

        var waits = scrape.Sum("roxy_rate_limit_waits_seconds_count", ("roxy_tenant", tenant));
        Assert.True(waits >= 1, "the request never waited");
        Assert.True(scrape.Sum("roxy_rate_limit_waits_seconds_sum", ("roxy_tenant", tenant)) > 0);
        AssertBuckets(scrape, "roxy_rate_limit_waits_seconds", DurationBounds, waits, ("roxy_tenant", tenant));
        Assert.Equal(2, scrape.Sum("roxy_upstream_errors_total", ("roxy_provider", "waitai"), ("roxy_upstream_signal", "rate_limited")));
        Assert.Equal(1, scrape.Where("gen_ai_client_operation_duration_seconds_count", ("gen_ai_request_model", target), ("gen_ai_provider_name", "waitai")).Where(s => !s.Labels.ContainsKey("error_type")).Sum(s => s.Value));
    }

    [Fact]
    public async Task A_cache_hit_is_counted_as_a_lookup_bills_no_tokens_and_saves_its_cost()
    {
        const string tenant = "m-cache";
        var (rule, target) = MetricsFixture.Rules[tenant];
        var body = Body(rule, "metrics cached prompt");
        var results = new List<string>();
        while (!results.Contains("hit"))
        {
            Assert.True(results.Count < 20, "the answer was never served from the cache");
            using var response = await PostAsync(tenant, body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            results.Add(response.Headers.GetValues("x-roxy-cache").Single());
        }

        var upstreamCalls = f.Upstream.CountFor(MetricsFixture.SecretOf(tenant, 1)) + f.Upstream.CountFor(MetricsFixture.SecretOf(tenant, 2));
        var scrape = await ScrapeAsync();

        Assert.Equal(results.Count(r => r == "hit"), scrape.Sum("roxy_cache_lookups_total", ("roxy_tenant", tenant), ("roxy_cache_result", "hit")));
        Assert.Equal(results.Count(r => r == "miss"), scrape.Sum("roxy_cache_lookups_total", ("roxy_tenant", tenant), ("roxy_cache_result", "miss")));
        Assert.Equal(results.Count(r => r == "hit"), scrape.Sum("roxy_requests_total", ("roxy_tenant", tenant), ("roxy_cache_result", "hit")));
        Assert.Equal(upstreamCalls, scrape.Sum("gen_ai_client_token_usage_count", ("gen_ai_request_model", target), ("gen_ai_token_type", "input")));
        Assert.Equal(results.Count, scrape.Sum("gen_ai_server_request_duration_seconds_count", ("gen_ai_request_model", rule)));
        Assert.True(scrape.Sum("roxy_cost_usd_total", ("roxy_tenant", tenant), ("roxy_cost_kind", "saved")) > 0, "a cache hit saved nothing");
    }

    [Fact]
    public async Task A_budget_rejection_is_counted_by_tenant_and_scope()
    {
        const string tenant = "m-budget";
        var (rule, _) = MetricsFixture.Rules[tenant];
        using var response = await PostAsync(tenant, Body(rule, "metrics budget prompt", maxTokens: 100_000));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Contains("budget_exceeded", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var scrape = await ScrapeAsync();

        Assert.Equal(1, scrape.Sum("roxy_budget_rejections_total", ("roxy_tenant", tenant), ("roxy_budget_scope", "tenant")));
        Assert.Equal(1, scrape.Sum("roxy_requests_total", ("roxy_tenant", tenant), ("http_response_status_code", "429")));
        Assert.Equal(1, scrape.Sum("gen_ai_server_request_duration_seconds_count", ("gen_ai_request_model", rule), ("error_type", "budget_exceeded")));
    }

    [Fact]
    public async Task Unknown_models_and_tokens_add_no_label_value_and_no_secret_or_prompt_is_scraped()
    {
        const string tenant = "m-random";
        var (rule, _) = MetricsFixture.Rules[tenant];
        var randomModel = "random-model-" + Guid.NewGuid().ToString("N");
        var unknownToken = "tok-nobody-" + Guid.NewGuid().ToString("N");
        var prompts = new[] { "metrics private prompt " + Guid.NewGuid().ToString("N"), "metrics private prompt " + Guid.NewGuid().ToString("N") };
        // Other tests' traffic is labelled _OTHER too (a rule made at run time): counted from here.
        var before = await ScrapeAsync();

        using (var unlisted = await PostAsync(tenant, Body(randomModel, prompts[0])))
        {
            Assert.Equal(HttpStatusCode.OK, unlisted.StatusCode);
        }

        using (var stranger = await f.Roxy.PostChatAsync(unknownToken, Body(rule, prompts[1])))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, stranger.StatusCode);
        }

        using (var ruled = await PostAsync(tenant, Body(rule, prompts[1])))
        {
            Assert.Equal(HttpStatusCode.OK, ruled.StatusCode);
        }

        // Sent with a bearer token that is no operator's: /metrics runs no admin authentication either way.
        using var withBogusToken = new HttpRequestMessage(HttpMethod.Get, new Uri(f.Roxy.BaseUrl, "metrics"));
        withBogusToken.Headers.TryAddWithoutValidation("Authorization", "Bearer " + unknownToken);
        using var bogus = await Http.SendAsync(withBogusToken);
        Assert.Equal(HttpStatusCode.OK, bogus.StatusCode);

        var scrape = await ScrapeAsync();

        Assert.DoesNotContain(randomModel, scrape.Text, StringComparison.Ordinal);
        Assert.Equal(1, Delta(before, scrape, "gen_ai_server_request_duration_seconds_count", ("gen_ai_request_model", MetricLabels.Other)));
        Assert.Equal(1, Delta(before, scrape, "gen_ai_client_operation_duration_seconds_count", ("gen_ai_request_model", MetricLabels.Other)));

        var known = f.Roxy.App.Services.GetRequiredService<MetricLabels>().Models.Concat(MetricsFixture.Rules.Values.Select(r => r.Rule)).Append(MetricLabels.Other).ToHashSet(StringComparer.Ordinal);
        Assert.Subset(known, scrape.ValuesOf("gen_ai_request_model"));
        Assert.Subset(known, scrape.ValuesOf("gen_ai_response_model"));
        Assert.Subset(MetricsFixture.Tenants.Append("default").Append(MetricLabels.Other).ToHashSet(StringComparer.Ordinal), scrape.ValuesOf("roxy_tenant"));

        foreach (var secret in f.Environment.Values.OfType<string>().Append(unknownToken).Concat(prompts))
        {
            Assert.DoesNotContain(secret, scrape.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_rule_a_tenant_admin_adds_at_run_time_adds_no_label_value()
    {
        const string tenant = "m-runtime";
        var (rule, _) = MetricsFixture.Rules[tenant];
        var source = "runtime-rule-" + Guid.NewGuid().ToString("N");
        var target = "runtime-target-" + Guid.NewGuid().ToString("N");
        var before = await ScrapeAsync();

        // A tenant admin's free text, as #roxy add model takes it (PUT …/rules/{source} stores the same rules).
        using (var added = await PostAsync(tenant, Body(rule, $"#roxy add model {source} openai:{target}")))
        {
            var reply = await added.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
            Assert.Contains("✅", reply, StringComparison.Ordinal);
        }

        using (var routed = await PostAsync(tenant, Body(source, "metrics runtime rule prompt")))
        {
            Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
            Assert.Equal(target, routed.Headers.GetValues("x-roxy-model").Single());
        }

        var scrape = await ScrapeAsync();

        Assert.DoesNotContain(source, scrape.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(target, scrape.Text, StringComparison.Ordinal);
        Assert.Equal(1, Delta(before, scrape, "roxy_requests_total", ("roxy_tenant", tenant), ("http_response_status_code", "200")));
        Assert.Equal(1, Delta(before, scrape, "gen_ai_server_request_duration_seconds_count", ("gen_ai_request_model", MetricLabels.Other), ("gen_ai_response_model", MetricLabels.Other)));
        Assert.Equal(1, Delta(before, scrape, "gen_ai_client_operation_duration_seconds_count", ("gen_ai_request_model", MetricLabels.Other), ("gen_ai_provider_name", "openai")));
    }

    [Fact]
    public async Task A_client_that_leaves_during_a_rate_limit_wait_is_counted_logged_and_traced_once()
    {
        const string tenant = "m-leave";
        var (rule, _) = MetricsFixture.Rules[tenant];
        string[] keys = [MetricsFixture.SecretOf(tenant, 1), MetricsFixture.SecretOf(tenant, 2)];
        // Both keys answer 429 without a hint: each cools for its cooldown_sec (5 s), within the 8 s wait budget, so
        // the request waits for one to come back.
        foreach (var key in keys)
        {
            f.Upstream.SetKeyBehavior(key, FakeResponse.Error(429, "rate_limit_error", "rate_limit_exceeded", "slow down"));
        }

        using var leave = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(f.Roxy.BaseUrl, "v1/chat/completions"))
        {
            Content = new StringContent(Body(rule, "metrics leave prompt"), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + MetricsFixture.TokenOf(tenant));
        var sending = Http.SendAsync(request, leave.Token);
        await Eventually.TrueAsync(
            () => Task.FromResult(keys.Sum(f.Upstream.CountFor) >= 2), TimeSpan.FromSeconds(15), "the request never tried both keys");
        // Both keys are cooling: the request is in its wait (or just entering it). The client leaves.
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        CapturedEntry[] Lines() => [.. f.Roxy.Logs.Entries.Where(e => e.EventId is 1000 or 1001 && Equals(e.Values.GetValueOrDefault("Tenant"), tenant))];
        await Eventually.TrueAsync(() => Task.FromResult(Lines().Length > 0), TimeSpan.FromSeconds(15), "the request that lost its client was never logged");
        var line = Lines()[0];
        Assert.Equal(1000, line.EventId);
        Assert.Equal(499, (int)line.Values["Status"]!);
        Assert.Equal("cancelled", line.Values["ErrorCode"]);
        var requestId = (string)line.Values["RequestId"]!;

        var traces = f.Roxy.Grains.GetGrain<Roxy.Grains.Tracing.IRequestTraceGrain>(Roxy.Grains.GrainKeys.RequestTrace(tenant));
        Roxy.Grains.Tracing.RequestTrace? trace = null;
        await Eventually.TrueAsync(async () => (trace = await traces.FindAsync(requestId)) is not null, TimeSpan.FromSeconds(15), "the request was never traced");
        Assert.Equal(499, trace!.Status);
        Assert.Equal("cancelled", trace.ErrorType);
        Assert.Equal(2, trace.Steps.Count(s => s.Outcome == "rate_limited"));

        var scrape = await ScrapeAsync();
        Assert.Equal(1, scrape.Sum("roxy_requests_total", ("roxy_tenant", tenant)));
        Assert.Equal(1, scrape.Sum("roxy_requests_total", ("roxy_tenant", tenant), ("http_response_status_code", "499")));
        Assert.Equal(1, scrape.Sum("gen_ai_server_request_duration_seconds_count", ("gen_ai_request_model", rule), ("error_type", "cancelled")));
        // Settled once: still exactly one line once its trace and metrics are in.
        Assert.Single(Lines());

        // The trace names its frontend by an opaque id; only the operator's log maps it to the machine.
        var frontend = f.Roxy.App.Services.GetRequiredService<Roxy.Api.Tracing.TraceRecorder>().Frontend;
        Assert.Equal(frontend, trace.Frontend);
        Assert.Matches("^fe-[0-9a-f]{8}$", trace.Frontend);
        Assert.Contains(f.Roxy.Logs.Lines, l => l.Contains(frontend, StringComparison.Ordinal) && l.Contains(Environment.MachineName, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_switched_off_leave_no_metrics_route()
    {
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("metricsoff");
        var env = new Dictionary<string, string?> { ["ROXY_TOKEN"] = "roxy-metrics-off-token-0123456789" };
        await using var roxy = await RoxyTestHost.StartAsync(
            """
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            cache: { enabled: false }
            metrics: { enabled: false }
            """,
            env,
            postgres);

        using var response = await Http.GetAsync(new Uri(roxy.BaseUrl, "metrics"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private Task<HttpResponseMessage> PostAsync(string tenant, string body) => f.Roxy.PostChatAsync(MetricsFixture.TokenOf(tenant), body);

    private Task<MetricsScrape> ScrapeAsync() => MetricsScrape.ReadAsync(Http, f.Roxy.BaseUrl);

    private static double Delta(MetricsScrape before, MetricsScrape after, string name, params (string Key, string Value)[] labels) =>
        after.Sum(name, labels) - before.Sum(name, labels);

    private static string Body(string model, string prompt, bool stream = false, int maxTokens = 20) => stream
        ? $$"""{"model":"{{model}}","max_tokens":{{maxTokens}},"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"{{prompt}}"}]}"""
        : $$"""{"model":"{{model}}","max_tokens":{{maxTokens}},"messages":[{"role":"user","content":"{{prompt}}"}]}""";

    private static (long Prompt, long Completion) UsageOf(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var usage = doc.RootElement.GetProperty("usage");
        return (usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64());
    }

    private static (long Prompt, long Completion) StreamUsageOf(string sse)
    {
        var last = sse.Split('\n')
            .Where(l => l.StartsWith("data: {", StringComparison.Ordinal))
            .Select(l => l["data: ".Length..])
            .Last(l => l.Contains("\"usage\":{", StringComparison.Ordinal));
        return UsageOf(last);
    }

    /// <summary>One series' buckets: exactly the advised boundaries then +Inf, cumulative, ending at the series' count.</summary>
    private static void AssertBuckets(MetricsScrape scrape, string histogram, double[] bounds, double count, params (string Key, string Value)[] labels)
    {
        var buckets = scrape.Where(histogram + "_bucket", labels).Where(s => !s.Labels.ContainsKey("error_type")).ToList();
        var les = buckets.Select(b => b.Labels["le"]).ToList();
        Assert.Equal([.. bounds.Select(b => b.ToString(CultureInfo.InvariantCulture)), "+Inf"], les.Select(le => le == "+Inf" ? le : double.Parse(le, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)));
        Assert.Equal(buckets.Select(b => b.Value).Order(), buckets.Select(b => b.Value));
        Assert.Equal(count, buckets[^1].Value);
    }
}
