using System.Security.Cryptography;
using Anthropic;
using Anthropic.Core;
using Roxy.FakeUpstream;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// Roxy for Anthropic clients: real PostgreSQL, a strict fake Anthropic target and a strict fake OpenAI target, a
/// master key so <c>#roxy add key</c> works. In every tenant <see cref="PassThrough"/> goes to Anthropic untouched and
/// <see cref="Translated"/> to OpenAI; <c>anthropic:claude-fake-{scenario}</c> and <c>openai:gpt-fake-{scenario}</c>
/// pick what a fake answers. Tenant <c>default</c> has an admin and a member token; tests that cool a key down, back a
/// provider off or add keys use a scratch tenant of their own, so nothing leaks between them.
/// </summary>
public sealed class MessagesFixture : IAsyncLifetime
{
    public const string AdminToken = "msg-admin-token-0123456789";
    public const string MemberToken = "msg-member-token-0123456789";
    public const string PassThrough = "claude-passthrough";
    public const string PassThroughTarget = "claude-sonnet-4-5";
    public const string Translated = "claude-on-gpt";
    public const string TranslatedTarget = "gpt-4o-mini";
    public const string OpenAiKey = "sk-msg-openai-abcdefghijklmnop";
    public const string AnthropicKey = "sk-ant-msg-abcdefghijklmnop";

    /// <summary>Scratch tenants, each with an admin token <see cref="TokenOf"/> and one key per provider.</summary>
    public static readonly string[] ScratchTenants = ["limit-a", "limit-o", "over-a", "over-o", "secret-a", "secret-o", "strict", "failover"];

    /// <summary>A rule whose first target overloads right after message_start, its second answering (translated).</summary>
    public const string OverloadThenOpenAi = "claude-overload-then-gpt";

    public FakeOpenAiServer OpenAi { get; private set; } = null!;
    public FakeAnthropicServer Anthropic { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;

    public static string TokenOf(string tenant) => $"tok-msg-{tenant}-0123456789";

    public static string OpenAiKeyOf(string tenant) => $"sk-msg-{tenant}-openai-abcdefghijklmnop";

    public static string AnthropicKeyOf(string tenant) => $"sk-ant-msg-{tenant}-abcdefghijklmnop";

    public static string Scenario(AnthropicScenario scenario) => "anthropic:" + FakeAnthropicServer.ModelFor(scenario);

    public static string Scenario(OpenAiScenario scenario) => "openai:" + FakeOpenAiServer.ModelFor(scenario);

    public async Task InitializeAsync()
    {
        OpenAi = await FakeOpenAiServer.StartAsync();
        Anthropic = await FakeAnthropicServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("messages");
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ROXY_TOKEN"] = AdminToken,
            ["ROXY_MEMBER_TOKEN"] = MemberToken,
            ["ROXY_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["MSG_OPENAI_KEY"] = OpenAiKey,
            ["MSG_ANTHROPIC_KEY"] = AnthropicKey,
        };
        foreach (var tenant in ScratchTenants)
        {
            environment[Var(tenant, "TOKEN")] = TokenOf(tenant);
            environment[Var(tenant, "OPENAI")] = OpenAiKeyOf(tenant);
            environment[Var(tenant, "ANTHROPIC")] = AnthropicKeyOf(tenant);
        }

        Roxy = await RoxyTestHost.StartAsync(Yaml(), environment, postgres);
    }

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Anthropic.DisposeAsync();
        await OpenAi.DisposeAsync();
    }

    /// <summary>Clears what both fakes recorded and were scripted with.</summary>
    public void Reset()
    {
        OpenAi.Reset();
        Anthropic.Reset();
    }

    /// <summary>
    /// The official SDK pointed at Roxy as a user would point it (<c>ANTHROPIC_BASE_URL</c>): the token as
    /// <c>x-api-key</c>, or as <c>Authorization: Bearer</c> when <paramref name="bearer"/>. No retries, so a test
    /// sees the first answer. The SDK's opt-in response validation stays off, as users have it: it demands fields the
    /// API adds only in later versions (<c>caller</c> on every tool_use), which neither the fakes nor a translated
    /// answer carry; the tests check the shapes themselves.
    /// </summary>
    public AnthropicClient Sdk(string token = AdminToken, bool bearer = false) => new(new ClientOptions
    {
        BaseUrl = Roxy.BaseUrl.ToString(),
        ApiKey = bearer ? null : token,
        AuthToken = bearer ? token : null,
        MaxRetries = 0,
        Timeout = TimeSpan.FromSeconds(30),
    });

    /// <summary>Raw HTTP to Roxy with the token in <c>x-api-key</c>, as Anthropic's API expects it.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string? token, string json, Action<HttpRequestMessage>? configure = null) =>
        Roxy.SendAsync(HttpMethod.Post, path, null, json, request =>
        {
            if (token is not null)
            {
                request.Headers.TryAddWithoutValidation("x-api-key", token);
            }

            request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
            configure?.Invoke(request);
        });

    private static string Var(string tenant, string suffix) => $"T_{tenant.Replace('-', '_').ToUpperInvariant()}_{suffix}";

    private const string Rules = $$"""
        - { source_model: {{PassThrough}}, target_models: ["anthropic:{{PassThroughTarget}}"] }
        - { source_model: {{Translated}}, target_models: ["openai:{{TranslatedTarget}}"] }
        - { source_model: {{OverloadThenOpenAi}}, target_models: ["anthropic:claude-fake-overloaded-before-content", "openai:{{TranslatedTarget}}"] }
        """;

    private string Yaml()
    {
        var tenants = string.Concat(ScratchTenants.Select(t => $$"""
              - id: {{t}}
                tokens: [{ token_env: {{Var(t, "TOKEN")}}, role: admin }]
                api_keys:
                  - { key_env_var: {{Var(t, "OPENAI")}}, provider: openai, max_rpm: 1000, max_tpm: 10000000, cooldown_sec: 30 }
                  - { key_env_var: {{Var(t, "ANTHROPIC")}}, provider: anthropic, max_rpm: 1000, max_tpm: 10000000, cooldown_sec: 30 }
                model_rules:
            {{Indent(Rules, "      ")}}
            {{(t == "strict" ? "    models: { allow_unlisted: false }" : "")}}
            """ + "\n"));
        return $$"""
            tokens:
              - { token_env: ROXY_TOKEN, role: admin }
              - { token_env: ROXY_MEMBER_TOKEN, role: member }
            api_keys:
              - { key_env_var: MSG_OPENAI_KEY, provider: openai, max_rpm: 1000, max_tpm: 10000000 }
              - { key_env_var: MSG_ANTHROPIC_KEY, provider: anthropic, max_rpm: 1000, max_tpm: 10000000 }
            model_rules:
            {{Indent(Rules, "  ")}}
            providers:
              openai: { base_url: "{{OpenAi.BaseUrl}}" }
              anthropic: { base_url: "{{Anthropic.BaseUrl}}" }
            rotation:
              max_wait_ms: 200
            # these tests measure the upstream path (calls, keys, rotation), not the prompt cache
            cache: { enabled: false }
            tenants:
            {{tenants}}
            """;
    }

    private static string Indent(string lines, string prefix) =>
        string.Join("\n", lines.Split('\n').Select(l => prefix + l.TrimEnd()));
}

/// <summary>One Roxy for every Anthropic-inbound test class: they run one after another and reset the fakes.</summary>
[CollectionDefinition(Name)]
public sealed class MessagesGroup : ICollectionFixture<MessagesFixture>
{
    public const string Name = "messages";
}
