using Microsoft.Extensions.Hosting;
using Roxy.Api.Tenancy;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// One Roxy in front of a fake OpenAI upstream, a fake Anthropic upstream and a scripted one (<c>hostile</c>, OpenAI
/// protocol, for answers without usage), with a budgeted tenant per test. Its tenant snapshots are not polled (no
/// <see cref="TenantRefresher"/>): a change made behind this frontend's back stays unseen until it reads the tenant again,
/// as on a frontend whose next poll has not come yet.
/// </summary>
public sealed class BudgetWorstCaseFixture : IAsyncLifetime
{
    public const string Operator = "budget-worst-operator-token-0123456789";

    /// <summary>Tenant <c>issuer</c>'s admin token, with a daily budget of <see cref="IssuerBudget"/>.</summary>
    public const decimal IssuerBudget = 0.5m;

    public static readonly string[] Tenants = ["n", "claude", "nousage", "issuer", "fresh"];

    public FakeOpenAiServer OpenAi { get; private set; } = null!;
    public FakeAnthropicServer Anthropic { get; private set; } = null!;
    public HostileUpstream Hostile { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;

    public static string TokenOf(string tenant) => $"tok-{tenant}-worst-case-0123456789";

    private static string KeyOf(string tenant) => $"sk-{tenant}-worst-case-abcdefghijklmnop";

    public async Task InitializeAsync()
    {
        OpenAi = await FakeOpenAiServer.StartAsync();
        Anthropic = await FakeAnthropicServer.StartAsync();
        Hostile = await HostileUpstream.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("budget_worst");
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ROXY_TOKEN"] = "budget-worst-default-token-0123456789",
            ["ROXY_ADMIN_TOKEN"] = Operator,
        };
        foreach (var tenant in Tenants)
        {
            env[Var(tenant, "TOKEN")] = TokenOf(tenant);
            env[Var(tenant, "KEY")] = KeyOf(tenant);
        }

        var yaml = $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            providers:
              openai: { base_url: "{{OpenAi.BaseUrl}}" }
              anthropic: { base_url: "{{Anthropic.BaseUrl}}" }
              hostile: { base_url: "{{Hostile.BaseUrl}}", kind: openai }
            cache: { enabled: false }
            tenants:
              - id: n
                budget: { daily_usd: 0.001 }
                tokens: [{ token_env: {{Var("n", "TOKEN")}}, role: admin }]
                api_keys: [{ key_env_var: {{Var("n", "KEY")}}, provider: openai }]
              - id: claude
                budget: { daily_usd: 0.1 }
                tokens: [{ token_env: {{Var("claude", "TOKEN")}}, role: admin }]
                api_keys:
                  - { key_env_var: {{Var("claude", "KEY")}}, provider: anthropic }
                  - { key_env_var: {{Var("claude", "KEY")}}_OPENAI, provider: openai }
                model_rules:
                  - { source_model: gpt-then-claude, target_models: [openai:gpt-4o-mini, anthropic:claude-sonnet-4-5] }
              - id: nousage
                budget: { daily_usd: 1 }
                tokens: [{ token_env: {{Var("nousage", "TOKEN")}}, role: admin }]
                api_keys: [{ key_env_var: {{Var("nousage", "KEY")}}, provider: hostile }]
              - id: issuer
                budget: { daily_usd: 1 }
                tokens:
                  - { token_env: {{Var("issuer", "TOKEN")}}, role: admin, budget: { daily_usd: {{IssuerBudget.ToString(System.Globalization.CultureInfo.InvariantCulture)}} } }
                api_keys: [{ key_env_var: {{Var("issuer", "KEY")}}, provider: openai }]
              - id: fresh
                tokens: [{ token_env: {{Var("fresh", "TOKEN")}}, role: admin }]
                api_keys: [{ key_env_var: {{Var("fresh", "KEY")}}, provider: openai }]
            """;
        env[Var("claude", "KEY") + "_OPENAI"] = KeyOf("claude") + "-openai";
        Roxy = await RoxyTestHost.StartAsync(yaml, env, postgres, builder =>
        {
            var refresher = builder.Services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(TenantRefresher));
            builder.Services.Remove(refresher);
        });
    }

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Hostile.DisposeAsync();
        await Anthropic.DisposeAsync();
        await OpenAi.DisposeAsync();
    }

    private static string Var(string tenant, string suffix) => $"W_{tenant.ToUpperInvariant()}_{suffix}";
}
