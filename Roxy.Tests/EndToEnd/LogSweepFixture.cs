using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// One Roxy in front of a fake OpenAI and a fake Anthropic upstream, with every log entry of every category at every
/// level captured (<see cref="All"/>, scopes included), for a test that searches them for each secret it used.
/// Tenant <c>default</c> has three OpenAI keys (one answers 429, one 401, both echoing the key in their body) and two
/// Anthropic keys (one 401 echoing); <c>cached</c> has the prompt cache on; <c>broke</c> a budget too small for any request.
/// </summary>
public sealed class LogSweepFixture : IAsyncLifetime
{
    public const string Operator = "sweep-operator-token-0123456789abcdef";
    public const string AdminToken = "sweep-admin-token-0123456789abcdef";
    public const string CachedToken = "sweep-cached-token-0123456789abcdef";
    public const string BrokeToken = "sweep-broke-token-0123456789abcdef";
    public const string OkKey = "sk-sweep-ok-key-abcdefghijklmnop";
    public const string RateLimitedKey = "sk-sweep-429-key-abcdefghijklmnop";
    public const string RevokedKey = "sk-sweep-401-key-abcdefghijklmnop";
    public const string AnthropicOkKey = "sk-ant-sweep-ok-abcdefghijklmnop";
    public const string AnthropicRevokedKey = "sk-ant-sweep-401-abcdefghijklmnop";
    public const string CachedKey = "sk-sweep-cached-key-abcdefghijklmnop";
    public const string BrokeKey = "sk-sweep-broke-key-abcdefghijklmnop";

    public FakeOpenAiServer OpenAi { get; private set; } = null!;
    public FakeAnthropicServer Anthropic { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;

    /// <summary>Everything Roxy logged, at every level.</summary>
    public CapturedLogs All { get; } = new(LogLevel.Trace, scopes: true);

    public string MasterKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Every secret in Roxy's environment, by variable.</summary>
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        OpenAi = await FakeOpenAiServer.StartAsync();
        Anthropic = await FakeAnthropicServer.StartAsync();
        // The upstreams' refusals quote the key they were sent, as some providers' do.
        OpenAi.SetKeyBehavior(RateLimitedKey, FakeResponse.Error(429, "requests", "rate_limit_exceeded",
            $"Rate limit reached for key {RateLimitedKey}.", new Dictionary<string, string> { ["Retry-After"] = "60" }));
        OpenAi.SetKeyBehavior(RevokedKey, FakeResponse.Error(401, "invalid_request_error", "invalid_api_key", $"Incorrect API key provided: {RevokedKey}."));
        Anthropic.SetKeyBehavior(AnthropicRevokedKey, FakeResponse.Error(401, "authentication_error", null, $"invalid x-api-key {AnthropicRevokedKey}"));

        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("logsweep");
        Environment["ROXY_ADMIN_TOKEN"] = Operator;
        Environment["ROXY_MASTER_KEY"] = MasterKey;
        Environment["SWEEP_TOKEN"] = AdminToken;
        Environment["CACHED_TOKEN"] = CachedToken;
        Environment["BROKE_TOKEN"] = BrokeToken;
        Environment["OK_KEY"] = OkKey;
        Environment["RATE_LIMITED_KEY"] = RateLimitedKey;
        Environment["REVOKED_KEY"] = RevokedKey;
        Environment["ANTHROPIC_OK_KEY"] = AnthropicOkKey;
        Environment["ANTHROPIC_REVOKED_KEY"] = AnthropicRevokedKey;
        Environment["CACHED_KEY"] = CachedKey;
        Environment["BROKE_KEY"] = BrokeKey;
        var yaml = $$"""
            tokens: [{ token_env: SWEEP_TOKEN, role: admin }]
            api_keys:
              - { key_env_var: OK_KEY, provider: openai }
              - { key_env_var: RATE_LIMITED_KEY, provider: openai }
              - { key_env_var: REVOKED_KEY, provider: openai }
              - { key_env_var: ANTHROPIC_OK_KEY, provider: anthropic }
              - { key_env_var: ANTHROPIC_REVOKED_KEY, provider: anthropic }
            model_rules:
              - { source_model: smart, target_models: [openai:gpt-4o-mini] }
              - { source_model: claude, target_models: [anthropic:claude-sonnet-4-5] }
              - { source_model: embed, target_models: [openai:text-embedding-3-small] }
            providers:
              openai: { base_url: "{{OpenAi.BaseUrl}}" }
              anthropic: { base_url: "{{Anthropic.BaseUrl}}" }
            # only tenant 'cached' has the prompt cache on
            cache: { enabled: false }
            tenants:
              - id: cached
                tokens: [{ token_env: CACHED_TOKEN, role: admin }]
                api_keys: [{ key_env_var: CACHED_KEY, provider: openai }]
                cache: { enabled: true }
              - id: broke
                budget: { daily_usd: 0.000001 }
                tokens: [{ token_env: BROKE_TOKEN, role: admin }]
                api_keys: [{ key_env_var: BROKE_KEY, provider: openai }]
            """;
        Roxy = await RoxyTestHost.StartAsync(yaml, Environment, postgres, builder =>
        {
            // Every category at every level, past the host's own filters (a provider's rule beats the general ones).
            builder.Logging.AddProvider(All);
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddFilter<CapturedLogs>(category: null, LogLevel.Trace);
        });
    }

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Anthropic.DisposeAsync();
        await OpenAi.DisposeAsync();
    }
}
