using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using Roxy.Api.Routing;
using Roxy.Api.Tenancy;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// How requests find their rules: from the frontend's memory when warm, with one grain call when cold, and without any
/// rule grain at all for a model no rule names. Every call that reaches a rule grain is counted by a grain call filter
/// in the co-hosted silo.
/// </summary>
public sealed class RuleRoutingTests : IAsyncLifetime
{
    private const string Token = "routing-admin-token-0123456789";
    private const string StrictToken = "routing-strict-token-0123456789";
    private const string RouterKey = "sk-or-routing-0123456789abcdef";
    private readonly RuleGrainCalls _calls = new();
    private FakeOpenAiServer _upstream = null!;
    private RoxyTestHost _roxy = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("rule_routing");
        var env = new Dictionary<string, string?>
        {
            ["ROXY_TOKEN"] = Token,
            ["STRICT_TOKEN"] = StrictToken,
            ["OPENAI_KEY"] = "sk-routing-openai-0123456789",
            ["STRICT_KEY"] = "sk-routing-strict-0123456789",
            ["ROUTER_KEY"] = RouterKey,
        };
        var yaml = $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            api_keys:
              - { key_env_var: OPENAI_KEY, provider: openai, max_rpm: 10000, max_tpm: 100000000 }
              - { key_env_var: ROUTER_KEY, provider: openrouter, max_rpm: 10000, max_tpm: 100000000 }
            model_rules:
              - { source_model: warm-model, target_models: [openai:gpt-4o-mini] }
              - { source_model: long-context, target_models: [openai:gpt-4o-mini, openai:gpt-4o], failover_on_context_length: true }
              - { source_model: rr-model, target_models: [openai:rr-a, openai:rr-b, openai:rr-c], selection_policy: roundrobin }
              - { source_model: random-model, target_models: [openai:gpt-4o-mini, openai:gpt-4o], selection_policy: random }
            providers:
              openai: { base_url: "{{_upstream.BaseUrl}}" }
              openrouter: { base_url: "{{_upstream.BaseUrl}}" }
            tenants:
              - id: strict
                tokens: [{ token_env: STRICT_TOKEN, role: admin }]
                api_keys: [{ key_env_var: STRICT_KEY, provider: openai }]
                model_rules: [{ source_model: fast, target_models: [gpt-4o-mini] }]
                models: { allow_unlisted: false }
            """;
        _roxy = await RoxyTestHost.StartAsync(yaml, env, postgres, builder => builder.Services.AddSingleton<IIncomingGrainCallFilter>(_calls));
        // Applying the YAML at start wrote the config rules to their grains; requests are counted from here.
        _calls.Reset();
    }

    public async Task DisposeAsync()
    {
        await _roxy.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private Task<HttpResponseMessage> AskAsync(string model, string token = Token) =>
        _roxy.PostChatAsync(token, $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""");

    // Sorted: the management grain lists activations in no particular order, and the tests compare sets of them.
    private async Task<IReadOnlyList<string>> ActiveRuleGrainsAsync() =>
        [.. (await _roxy.Grains.GetGrain<IManagementGrain>(0).GetActiveGrains(GrainType.Create("modelrule"))).Select(g => g.Key.ToString()!).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task A_warm_rule_costs_no_grain_call()
    {
        var first = await AskAsync("warm-model");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(1, _calls.To("default/warm-model"));

        for (var i = 0; i < 25; i++)
        {
            var response = await AskAsync("warm-model");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("gpt-4o-mini", response.Headers.GetValues("x-roxy-model").Single());
        }

        // Streaming and through the SDK the same: the rule is read once per frontend.
        await foreach (var _ in _roxy.Chat("warm-model", Token).CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
        }

        Assert.Equal(1, _calls.To("default/warm-model"));
    }

    [Fact]
    public async Task A_model_no_rule_names_activates_no_rule_grain_and_reads_nothing()
    {
        var before = await ActiveRuleGrainsAsync();
        var callsBefore = _calls.Total;

        // Allowed unlisted: served by the inferred provider under its own name.
        for (var i = 0; i < 5; i++)
        {
            var response = await AskAsync("gpt-no-rule-names-this");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("gpt-no-rule-names-this", response.Headers.GetValues("x-roxy-model").Single());
        }

        Assert.Equal(callsBefore, _calls.Total);
        // No activation means no read from PostgreSQL: grain storage is read only when a grain activates.
        Assert.Equal(before, await ActiveRuleGrainsAsync());
        Assert.DoesNotContain(await ActiveRuleGrainsAsync(), k => k.Contains("no-rule-names-this", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tenant_without_unlisted_models_reads_its_rules_once_then_refuses_unknown_models_from_memory()
    {
        var unknown = await AskAsync("not-listed-anywhere", StrictToken);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("model_not_found", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Deciding that a model is not a listed target needs the targets of every rule: read once, here one rule.
        Assert.Equal(1, _calls.To("strict/fast"));

        var callsBefore = _calls.Total;
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await AskAsync($"not-listed-{i}", StrictToken)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await AskAsync("gpt-4o-mini", StrictToken)).StatusCode); // a listed target
        Assert.Equal(HttpStatusCode.OK, (await AskAsync("fast", StrictToken)).StatusCode);
        Assert.Equal(callsBefore, _calls.Total);
        Assert.DoesNotContain(await ActiveRuleGrainsAsync(), k => k.Contains("not-listed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_openrouter_target_keeps_its_slash()
    {
        var added = await SayAsync("#roxy add model sonnet openrouter:anthropic/claude-3.5-sonnet");
        Assert.Contains("`openrouter:anthropic/claude-3.5-sonnet`", added, StringComparison.Ordinal);

        var response = await AskAsync("sonnet");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("openrouter", response.Headers.GetValues("x-roxy-provider").Single());
        var upstream = _upstream.Requests[^1];
        Assert.Equal(RouterKey, upstream.ApiKey);
        Assert.Equal("anthropic/claude-3.5-sonnet", JsonNode.Parse(upstream.Body)!["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_route_carries_the_rules_context_length_opt_in()
    {
        var tenant = await _roxy.App.Services.GetRequiredService<TenantSnapshotCache>().GetAsync("default");
        var resolver = _roxy.App.Services.GetRequiredService<ModelResolver>();

        var (optedIn, error) = await resolver.ResolveColdAsync(tenant, "long-context");
        Assert.Null(error);
        Assert.True(optedIn!.FailoverOnContextLength);
        Assert.Equal([new RouteTarget("openai", "gpt-4o-mini"), new RouteTarget("openai", "gpt-4o")], optedIn.Targets);
        Assert.False(resolver.TryResolve(tenant, "warm-model", out _, out _)); // not read yet
        Assert.False((await resolver.ResolveColdAsync(tenant, "warm-model")).Route!.FailoverOnContextLength);
        Assert.True(resolver.TryResolve(tenant, "warm-model", out var warm, out _)); // read once, then from memory
        Assert.False(warm!.FailoverOnContextLength);
    }

    [Fact]
    public async Task Warm_resolution_allocates_nothing()
    {
        var tenant = await _roxy.App.Services.GetRequiredService<TenantSnapshotCache>().GetAsync("default");
        var resolver = _roxy.App.Services.GetRequiredService<ModelResolver>();
        string[] models = ["warm-model", "rr-model", "random-model", "gpt-4o-unlisted"];
        foreach (var model in models)
        {
            if (!resolver.TryResolve(tenant, model, out _, out _))
            {
                await resolver.ResolveColdAsync(tenant, model);
            }
        }

        var firsts = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            Assert.True(resolver.TryResolve(tenant, "rr-model", out var route, out _));
            firsts.Add(route!.Targets[0].Model);
            Assert.Equal(3, route.Targets.Count); // the rest follow, so failover still reaches every target
        }

        string[] order = ["rr-a", "rr-b", "rr-c"];
        for (var i = 1; i < firsts.Count; i++)
        {
            Assert.Equal(order[(Array.IndexOf(order, firsts[i - 1]) + 1) % order.Length], firsts[i]);
        }

        // Rules (not unlisted names, whose route is built per request as before): nothing allocated per request.
        var rules = models[..3];
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            foreach (var model in rules)
            {
                Assert.True(resolver.TryResolve(tenant, model, out _, out _));
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - allocated);
    }

    private async Task<string> SayAsync(string text)
    {
        ChatCompletion reply = await _roxy.Chat("anything", Token).CompleteChatAsync([new UserChatMessage(text)]);
        return reply.Content[0].Text;
    }

    /// <summary>Counts the calls each rule grain receives, by grain key.</summary>
    private sealed class RuleGrainCalls : IIncomingGrainCallFilter
    {
        private static readonly GrainType RuleGrain = GrainType.Create("modelrule");
        private readonly ConcurrentDictionary<string, int> _byKey = new(StringComparer.Ordinal);

        public int Total => _byKey.Values.Sum();

        public int To(string key) => _byKey.GetValueOrDefault(key);

        public void Reset() => _byKey.Clear();

        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.TargetId.Type == RuleGrain)
            {
                _byKey.AddOrUpdate(context.TargetId.Key.ToString()!, 1, (_, n) => n + 1);
            }

            return context.Invoke();
        }
    }
}
