using Roxy.FakeUpstream;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// One Roxy host in front of a fake OpenAI upstream and a strict fake Anthropic one. Every tenant has one key of each
/// and the same rules; tests that change key or provider state (cooldowns, overload backoff) use a tenant of their
/// own, so nothing leaks between them. A model named <c>anthropic:claude-fake-{scenario}</c> picks what the fake
/// Anthropic answers (<see cref="FakeAnthropicServer.ModelFor"/>).
/// </summary>
public sealed class AnthropicProxyFixture : IAsyncLifetime
{
    public static readonly string[] Tenants =
        ["main", "fo-500", "fo-429", "fo-stream", "fo-drop", "back-json", "back-stream", "back-early", "mid-stream", "only-529", "only-529-stream", "only-early-overload", "truncated", "n-two", "caller", "limited", "auth"];

    public FakeOpenAiServer OpenAi { get; private set; } = null!;
    public FakeAnthropicServer Anthropic { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;

    public static string TokenOf(string tenant) => $"tok-{tenant}-0123456789";

    public static string OpenAiKeyOf(string tenant) => $"sk-{tenant}-openai-abcdefghijklmnop";

    public static string AnthropicKeyOf(string tenant) => $"sk-ant-{tenant}-abcdefghijklmnop";

    public async Task InitializeAsync()
    {
        OpenAi = await FakeOpenAiServer.StartAsync();
        Anthropic = await FakeAnthropicServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("anthropic");
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var tenant in Tenants)
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

    private static string Var(string tenant, string suffix) => $"T_{tenant.Replace('-', '_').ToUpperInvariant()}_{suffix}";

    private string Yaml()
    {
        var overloaded = FakeAnthropicServer.ModelFor(AnthropicScenario.Overloaded);
        var early = FakeAnthropicServer.ModelFor(AnthropicScenario.OverloadedBeforeContent);
        var midStream = FakeAnthropicServer.ModelFor(AnthropicScenario.ErrorMidStream);
        var tooLong = FakeAnthropicServer.ModelFor(AnthropicScenario.PromptTooLong);
        var truncated = FakeAnthropicServer.ModelFor(AnthropicScenario.TruncatedStream);
        var tenants = string.Concat(Tenants.Select(t => $$"""
              - id: {{t}}
                tokens: [{ token_env: {{Var(t, "TOKEN")}}, role: admin }]
                api_keys:
                  - { key_env_var: {{Var(t, "OPENAI")}}, provider: openai, max_rpm: 1000, max_tpm: 10000000, cooldown_sec: 30 }
                  - { key_env_var: {{Var(t, "ANTHROPIC")}}, provider: anthropic, max_rpm: 1000, max_tpm: 10000000, cooldown_sec: {{(t == "limited" ? 1 : 30)}} }
                model_rules:
                  - { source_model: gpt-then-claude, target_models: [openai:gpt-4o-mini, anthropic:claude-sonnet-4-5] }
                  - { source_model: claude-then-gpt, target_models: [anthropic:claude-sonnet-4-5, openai:gpt-4o-mini] }
                  - { source_model: overloaded-then-gpt, target_models: ["anthropic:{{overloaded}}", openai:gpt-4o-mini] }
                  - { source_model: early-error-then-gpt, target_models: ["anthropic:{{early}}", openai:gpt-4o-mini] }
                  - { source_model: mid-stream-then-gpt, target_models: ["anthropic:{{midStream}}", openai:gpt-4o-mini] }
                  - { source_model: too-long-then-gpt, target_models: ["anthropic:{{tooLong}}", openai:gpt-4o-mini] }
                  - { source_model: truncated-then-gpt, target_models: ["anthropic:{{truncated}}", openai:gpt-4o-mini] }
            """ + "\n"));
        return $$"""
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
}
