using System.Globalization;
using System.Security.Cryptography;
using Roxy.FakeUpstream;

namespace Roxy.Faults;

/// <summary>
/// The world the drill runs in: tenants, their tokens and keys (config keys and the ones seeding adds at run time), the
/// config file, and the traffic lanes. Keys are limited by the fake upstream itself, at the limit Roxy is given, and
/// counted there. Rates stay low (about 11 requests a second in all): the machine has two cores.
/// </summary>
public sealed class DrillSetup
{
    /// <summary>Per regular key: about 90 requests a minute arrive, under this limit, so regular lanes never need a 429.</summary>
    public const int RegularRpm = 150;

    /// <summary>Tight keys get about 48 a minute offered: Roxy must refuse the rest and never pass this.</summary>
    public const int TightRpm = 30;

    /// <summary>About ten of the budget lane's requests: spent within seconds of the start, then every answer is 429.</summary>
    public const decimal BudgetUsd = 0.0001m;

    public DrillSetup()
    {
        AdminToken = Secret("roxy-drill-default-");
        OperatorToken = Secret("roxy-drill-operator-");
        Tokens = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["default"] = AdminToken,
            ["acme"] = Secret("roxy-drill-acme-"),
            ["globex"] = Secret("roxy-drill-globex-"),
            ["tight-a"] = Secret("roxy-drill-tight-a-"),
            ["tight-b"] = Secret("roxy-drill-tight-b-"),
            ["budget"] = Secret("roxy-drill-budget-"),
        };
        ConfigKeys =
        [
            new("default", Secret("sk-drill-default-1-"), RegularRpm, "DRILL_DEFAULT_KEY_1"),
            new("default", Secret("sk-drill-default-2-"), RegularRpm, "DRILL_DEFAULT_KEY_2"),
            new("acme", Secret("sk-drill-acme-1-"), RegularRpm, "DRILL_ACME_KEY_1"),
            new("acme", Secret("sk-drill-acme-2-"), RegularRpm, "DRILL_ACME_KEY_2"),
            new("tight-a", Secret("sk-drill-tight-a-"), TightRpm, "DRILL_TIGHT_A_KEY"),
            new("tight-b", Secret("sk-drill-tight-b-"), TightRpm, "DRILL_TIGHT_B_KEY"),
            new("budget", Secret("sk-drill-budget-"), 1000, "DRILL_BUDGET_KEY"),
        ];
        ChatKey = new("globex", Secret("sk-drill-globex-chat-"), RegularRpm, null);
        ApiKey = new("globex", Secret("sk-drill-globex-api-"), RegularRpm, null);
    }

    /// <summary>Admin of tenant <c>default</c> (ROXY_TOKEN).</summary>
    public string AdminToken { get; }

    /// <summary>ROXY_ADMIN_TOKEN: the operator, who sets the budget.</summary>
    public string OperatorToken { get; }

    /// <summary>Each tenant's admin token.</summary>
    public IReadOnlyDictionary<string, string> Tokens { get; }

    public IReadOnlyList<TrackedKey> ConfigKeys { get; }

    /// <summary>Added to tenant globex by <c>#roxy add key</c> before the faults.</summary>
    public TrackedKey ChatKey { get; }

    /// <summary>Added to tenant globex by POST /admin/tenants/globex/keys before the faults.</summary>
    public TrackedKey ApiKey { get; }

    public IEnumerable<TrackedKey> AllKeys => [.. ConfigKeys, ChatKey, ApiKey];

    /// <summary>The rule seeding adds by chat, and the one it adds by the admin API (both to gpt-4o-mini, tenant globex).</summary>
    public const string ChatRule = "drill-chat-alias";

    public const string ApiRule = "drill-api-alias";

    /// <summary>The environment the cluster's processes need: tokens, the master key, config keys' secrets.</summary>
    public IReadOnlyDictionary<string, string> Environment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ROXY_TOKEN"] = AdminToken,
            ["ROXY_ADMIN_TOKEN"] = OperatorToken,
            ["ROXY_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        };
        foreach (var (tenant, token) in Tokens.Where(t => t.Key != "default"))
        {
            env[TokenVariable(tenant)] = token;
        }

        foreach (var key in ConfigKeys)
        {
            env[key.Variable!] = key.Secret;
        }

        return env;
    }

    /// <summary>
    /// The cluster's config. Upstream timeouts are short (5 s) so a hanging upstream is answered with 504 well inside the
    /// client's 30 s; the bounded wait for a key is short so tight lanes get their 429 fast. Only tenant acme caches
    /// (its entries are among what must not be lost); gpt-4o-mini is priced explicitly for the budget check.
    /// </summary>
    public string ConfigYaml(Uri upstream)
    {
        string Keys(string tenant) => string.Join(", ", ConfigKeys.Where(k => k.Tenant == tenant).Select(k =>
            string.Create(CultureInfo.InvariantCulture, $"{{ key_env_var: {k.Variable}, provider: openai, max_rpm: {k.MaxRpm}, max_tpm: 10000000, cooldown_sec: 1 }}")));
        string Tenant(string id, string extra = "") => $$"""
              - id: {{id}}
                tokens: [{ token_env: {{TokenVariable(id)}}, role: admin }]
                api_keys: [{{Keys(id)}}]
            {{extra}}
            """;
        return $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            api_keys: [{{Keys("default")}}]
            providers:
              openai: { base_url: "{{upstream}}" }
            prices:
              "openai:gpt-4o-mini": { input: 0.15, output: 0.60, cached_input: 0.075 }
            rotation: { max_wait_ms: 200 }
            server: { connect_timeout_sec: 2, first_token_timeout_sec: 5, idle_timeout_sec: 5, response_timeout_sec: 5, drain_timeout_sec: 5 }
            cache: { enabled: false }
            tenants:
            {{Tenant("acme", "    cache: { enabled: true, ttl_sec: 3600 }")}}
            {{Tenant("globex")}}
            {{Tenant("tight-a")}}
            {{Tenant("tight-b")}}
            {{Tenant("budget")}}
            """;
    }

    /// <summary>Limits the fake enforces itself, and slow streams (about a second each) so a frontend dies with streams in flight.</summary>
    public void Prepare(FakeOpenAiServer upstream)
    {
        var slow = new FakeResponse { DelayBetweenEvents = TimeSpan.FromMilliseconds(120) };
        foreach (var key in AllKeys)
        {
            upstream.SetKeyLimit(key.Secret, key.MaxRpm);
            upstream.SetKeyBehavior(key.Secret, slow);
        }
    }

    /// <summary>The traffic: about 11 requests a second over both frontends, streaming and not, six tenants.</summary>
    public IReadOnlyList<Lane> Lanes(string issuedToken) =>
    [
        new("default-json", "default", AdminToken, 1, "gpt-4o-mini", false, 1.5, LaneKind.Regular),
        new("default-stream", "default", AdminToken, 2, "gpt-4o-mini", true, 1.5, LaneKind.Regular),
        new("acme-stream", "acme", Tokens["acme"], 1, "gpt-4o-mini", true, 1.5, LaneKind.Regular),
        new("acme-json", "acme", Tokens["acme"], 2, "gpt-4o-mini", false, 1.5, LaneKind.Regular),
        new("globex-chat-rule", "globex", Tokens["globex"], 1, ChatRule, false, 1, LaneKind.Regular),
        new("globex-api-rule-issued-token", "globex", issuedToken, 2, ApiRule, true, 1, LaneKind.Regular),
        new("tight-a", "tight-a", Tokens["tight-a"], 0, "gpt-4o-mini", false, 0.8, LaneKind.Tight),
        new("tight-b", "tight-b", Tokens["tight-b"], 0, "gpt-4o-mini", true, 0.8, LaneKind.Tight),
        // One at a time: a budget can be passed by at most the requests in flight when it runs out.
        new("budget", "budget", Tokens["budget"], 0, "gpt-4o-mini", false, 1, LaneKind.Budget, MaxInFlight: 1),
    ];

    public static string TokenVariable(string tenant) => "DRILL_TOKEN_" + tenant.Replace('-', '_').ToUpperInvariant();

    private static string Secret(string prefix) => prefix + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
}
