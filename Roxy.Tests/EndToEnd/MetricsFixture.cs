using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// One Roxy in front of one fake OpenAI upstream, a tenant per test so each test's traffic has its own tenant label
/// and its own rule and target model (the <c>gen_ai.*</c> instruments carry models, not tenants).
/// </summary>
public sealed class MetricsFixture : IAsyncLifetime
{
    public static readonly string[] Tenants = ["m-plain", "m-fail", "m-cache", "m-budget", "m-random", "m-wait", "m-leave", "m-runtime"];

    /// <summary>Each tenant's rule: the model clients ask for and the priced model it sends upstream.</summary>
    public static readonly IReadOnlyDictionary<string, (string Rule, string Target)> Rules = new Dictionary<string, (string, string)>
    {
        ["m-plain"] = ("metrics-plain", "gpt-4o-mini"),
        ["m-fail"] = ("metrics-fail", "gpt-4o"),
        ["m-cache"] = ("metrics-cached", "gpt-4.1-mini"),
        ["m-budget"] = ("metrics-budget", "gpt-4.1-nano"),
        ["m-random"] = ("metrics-random", "o4-mini"),
        ["m-wait"] = ("metrics-wait", "gpt-5-nano"),
        ["m-leave"] = ("metrics-leave", "o3-mini"),
        ["m-runtime"] = ("metrics-runtime", "gpt-4.1"),
    };

    public FakeOpenAiServer Upstream { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Tenants m-wait's and m-leave's keys rate-limit on purpose: each on a provider of its own, so no other test sees their errors.</summary>
    public static string ProviderOf(string tenant) => tenant switch
    {
        "m-wait" => "waitai",
        "m-leave" => "leaveai",
        _ => "openai",
    };

    /// <summary>m-wait's keys come back within its request's wait; m-leave's client leaves during a longer one.</summary>
    private static int CooldownOf(string tenant) => tenant switch
    {
        "m-wait" => 1,
        "m-leave" => 5,
        _ => 60,
    };

    public static string TokenOf(string tenant) => $"tok-{tenant}-metrics-0123456789";

    public static string SecretOf(string tenant, int n) => $"sk-{tenant}-metrics-key{n}-abcdefghijklmnop";

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("metrics");
        Environment["ROXY_TOKEN"] = "roxy-metrics-admin-token-0123456789";
        foreach (var tenant in Tenants)
        {
            Environment[Var(tenant, "TOKEN")] = TokenOf(tenant);
            Environment[Var(tenant, "KEY1")] = SecretOf(tenant, 1);
            Environment[Var(tenant, "KEY2")] = SecretOf(tenant, 2);
        }

        var tenants = string.Concat(Tenants.Select(t => $$"""
              - id: {{t}}
                tokens: [{ token_env: {{Var(t, "TOKEN")}}, role: admin }]
                api_keys:
                  - { key_env_var: {{Var(t, "KEY1")}}, provider: {{ProviderOf(t)}}, cooldown_sec: {{CooldownOf(t)}} }
                  - { key_env_var: {{Var(t, "KEY2")}}, provider: {{ProviderOf(t)}}, cooldown_sec: {{CooldownOf(t)}} }
                model_rules: [{ source_model: {{Rules[t].Rule}}, target_models: ["{{ProviderOf(t)}}:{{Rules[t].Target}}"] }]
            {{(t == "m-cache" ? "    cache: { enabled: true }" : "")}}
            {{(t == "m-budget" ? "    budget: { daily_usd: 0.0001 }" : "")}}
            """ + "\n"));
        var yaml = $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            providers:
              openai: { base_url: "{{Upstream.BaseUrl}}" }
              waitai: { base_url: "{{Upstream.BaseUrl}}", kind: openai }
              leaveai: { base_url: "{{Upstream.BaseUrl}}", kind: openai }
            # metrics of the upstream path; only tenant m-cache turns the prompt cache on
            cache: { enabled: false }
            # long enough for m-wait's key to come back from its 1 s cooldown within one request, and for m-leave's
            # request to wait out a 5 s one (its client leaves during the wait)
            rotation: { max_wait_ms: 8000 }
            tenants:
            {{tenants}}
            """;
        Roxy = await RoxyTestHost.StartAsync(yaml, Environment, postgres);
    }

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    private static string Var(string tenant, string suffix) => $"M_{tenant.Replace('-', '_').ToUpperInvariant()}_{suffix}";
}
