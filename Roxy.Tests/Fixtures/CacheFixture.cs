using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Anthropic;
using Anthropic.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using Roxy.FakeUpstream;
using Roxy.Grains;
using Roxy.Grains.Caching;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// Roxy with the prompt cache on, in front of a fake OpenAI and a fake Anthropic, on real PostgreSQL, with a clock
/// the TTL tests move forward. Every tenant has the same rules (<see cref="Rules"/>) and keys of its own, so a test
/// that counts a key's upstream calls, clears a cache or backs a provider off keeps to its tenant; tests tell their
/// requests apart by a marker in the prompt (<see cref="UpstreamCalls"/>), since the fakes answer everyone alike.
/// </summary>
public sealed class CacheFixture : IAsyncLifetime
{
    public const string AdminToken = "cache-admin-token-0123456789";
    public const string MemberToken = "cache-member-token-0123456789";

    /// <summary>The tenant default's own keys; scratch tenants' are <see cref="OpenAiKeyOf"/>, <see cref="AnthropicKeyOf"/>.</summary>
    public const string OpenAiKey = "sk-cache-openai-abcdefghijklmnop";
    public const string AnthropicKey = "sk-ant-cache-abcdefghijklmnop";

    /// <summary>Model names every tenant has a rule for.</summary>
    public const string Text = "cached";
    public const string Text4o = "cached-4o";
    public const string Tools = "cached-tools";
    public const string CutOff = "cut";
    public const string Failing = "failing";
    public const string PassThrough = "claude-passthrough";
    public const string PassThroughTools = "claude-tools";
    public const string PassThroughTruncated = "claude-truncated";
    public const string TooLong = "claude-too-long";
    public const string Translated = "claude-on-gpt";
    public const string TranslatedTools = "claude-on-gpt-tools";

    /// <summary>
    /// Scratch tenants with an admin token <see cref="TokenOf"/>: <c>iso</c> (cache on, only rule models), <c>off</c>
    /// (cache disabled), <c>det</c> (<c>mode: deterministic</c>), <c>ttl</c> (<c>ttl_sec: 60</c>), <c>clear</c>,
    /// <c>rules</c>, <c>errors</c>, <c>cut</c>, <c>drop</c>, <c>cmd</c> and <c>flight</c> (cache on, for tests that clear,
    /// change rules, make the upstream fail, send only commands or count one burst's upstream calls).
    /// </summary>
    public static readonly string[] ScratchTenants = ["iso", "off", "det", "ttl", "clear", "rules", "errors", "cut", "drop", "cmd", "flight"];

    public FakeOpenAiServer OpenAi { get; private set; } = null!;
    public FakeAnthropicServer Anthropic { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;
    public string Postgres { get; private set; } = null!;

    /// <summary>Roxy's wall clock: the system's, moved on by the TTL tests.</summary>
    public ShiftedClock Clock { get; } = new();

    public static string TokenOf(string tenant) => $"tok-cache-{tenant}-0123456789";

    public static string OpenAiKeyOf(string tenant) => $"sk-cache-{tenant}-openai-abcdefghijklmnop";

    public static string AnthropicKeyOf(string tenant) => $"sk-ant-cache-{tenant}-abcdefghijklmnop";

    /// <summary>A prompt no other test sends, so its requests can be counted at the fakes and its entries are its own.</summary>
    public static string Marker(string test) => $"{test} {Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        OpenAi = await FakeOpenAiServer.StartAsync();
        Anthropic = await FakeAnthropicServer.StartAsync();
        Postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("cache");
        Roxy = await RoxyTestHost.StartAsync(Yaml(OpenAi.BaseUrl, Anthropic.BaseUrl), Environment(), Postgres,
            builder => builder.Services.AddSingleton<TimeProvider>(Clock));
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

    /// <summary>How many requests whose body holds <paramref name="marker"/> reached either fake.</summary>
    public int UpstreamCalls(string marker) =>
        OpenAi.Requests.Count(r => r.Body.Contains(marker, StringComparison.Ordinal))
        + Anthropic.Requests.Count(r => r.Body.Contains(marker, StringComparison.Ordinal));

    public static Dictionary<string, string?> Environment()
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ROXY_TOKEN"] = AdminToken,
            ["ROXY_MEMBER_TOKEN"] = MemberToken,
            ["ROXY_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["CACHE_OPENAI_KEY"] = OpenAiKey,
            ["CACHE_ANTHROPIC_KEY"] = AnthropicKey,
        };
        foreach (var tenant in ScratchTenants)
        {
            environment[Var(tenant, "TOKEN")] = TokenOf(tenant);
            environment[Var(tenant, "OPENAI")] = OpenAiKeyOf(tenant);
            environment[Var(tenant, "ANTHROPIC")] = AnthropicKeyOf(tenant);
        }

        return environment;
    }

    /// <summary>The official OpenAI SDK against Roxy; every answer's <c>x-roxy-cache</c> goes to <paramref name="log"/>.</summary>
    public ChatClient Chat(string model, string token, CacheHeaderLog log)
    {
        var options = new OpenAIClientOptions { Endpoint = Roxy.V1, NetworkTimeout = TimeSpan.FromSeconds(30), RetryPolicy = new ClientRetryPolicy(0) };
        options.AddPolicy(log.Policy, PipelinePosition.PerTry);
        return new ChatClient(model, new ApiKeyCredential(token), options);
    }

    /// <summary>The official Anthropic SDK against Roxy (no retries); every answer's <c>x-roxy-cache</c> goes to <paramref name="log"/>.</summary>
    public AnthropicClient Messages(string token, CacheHeaderLog log) => new(new ClientOptions
    {
        BaseUrl = Roxy.BaseUrl.ToString(),
        ApiKey = token,
        MaxRetries = 0,
        Timeout = TimeSpan.FromSeconds(30),
        HttpClient = new HttpClient(log.Handler()),
    });

    /// <summary>Raw HTTP to <c>/v1/messages</c> with the token in <c>x-api-key</c>.</summary>
    public Task<HttpResponseMessage> PostMessagesAsync(string token, string json, Action<HttpRequestMessage>? configure = null) =>
        Roxy.SendAsync(HttpMethod.Post, "v1/messages", null, json, request =>
        {
            request.Headers.TryAddWithoutValidation("x-api-key", token);
            request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
            configure?.Invoke(request);
        });

    /// <summary>
    /// Waits until the tenant's cache holds at least <paramref name="entries"/> reachable entries: storing is
    /// asynchronous (it never delays the answer), so a test that needs an entry in place before its next step, with
    /// no single-flight leader to wait on, waits for it here.
    /// </summary>
    public static async Task WaitForEntriesAsync(RoxyTestHost roxy, string tenant, long entries)
    {
        var generation = (await roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant)).GetSnapshotAsync()).CacheGeneration;
        var stats = roxy.Grains.GetGrain<ICacheStatsGrain>(GrainKeys.CacheStats(tenant));
        await Eventually.TrueAsync(async () => (await stats.GetAsync(generation)).Entries >= entries, TimeSpan.FromSeconds(10),
            $"tenant {tenant} did not reach {entries} cache entries");
    }

    /// <summary>Reachable entries of the tenant now.</summary>
    public static async Task<long> EntriesAsync(RoxyTestHost roxy, string tenant)
    {
        var generation = (await roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant)).GetSnapshotAsync()).CacheGeneration;
        return (await roxy.Grains.GetGrain<ICacheStatsGrain>(GrainKeys.CacheStats(tenant)).GetAsync(generation)).Entries;
    }

    /// <summary>The <c>data:</c> payloads of an SSE body, in order.</summary>
    public static List<string> DataLines(string body) =>
        [.. body.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l["data:".Length..].Trim())];

    /// <summary>The <c>event:</c> names of an SSE body, in order.</summary>
    public static List<string> EventNames(string body) =>
        [.. body.Split('\n').Where(l => l.StartsWith("event:", StringComparison.Ordinal)).Select(l => l["event:".Length..].Trim())];

    private static string Var(string tenant, string suffix) => $"T_{tenant.ToUpperInvariant()}_{suffix}";

    public const string Rules = $$"""
        - { source_model: {{Text}}, target_models: ["openai:gpt-4o-mini"] }
        - { source_model: {{Text4o}}, target_models: ["openai:gpt-4o"] }
        - { source_model: {{Tools}}, target_models: ["openai:gpt-fake-text-then-tool"] }
        - { source_model: {{CutOff}}, target_models: ["openai:gpt-fake-error-mid-stream"] }
        - { source_model: {{Failing}}, target_models: ["openai:gpt-fake-overloaded"] }
        - { source_model: {{PassThrough}}, target_models: ["anthropic:claude-sonnet-4-5"] }
        - { source_model: {{PassThroughTools}}, target_models: ["anthropic:claude-fake-parallel-tools"] }
        - { source_model: {{PassThroughTruncated}}, target_models: ["anthropic:claude-fake-truncated-stream"] }
        - { source_model: {{TooLong}}, target_models: ["anthropic:claude-fake-prompt-too-long"] }
        - { source_model: {{Translated}}, target_models: ["openai:gpt-4o-mini"] }
        - { source_model: {{TranslatedTools}}, target_models: ["openai:gpt-fake-text-then-tool"] }
        """;

    private static string TenantCache(string tenant) => tenant switch
    {
        "off" => "cache: { enabled: false }",
        "det" => "cache: { enabled: true, ttl_sec: 3600, mode: deterministic }",
        "ttl" => "cache: { enabled: true, ttl_sec: 60 }",
        _ => "cache: { enabled: true, ttl_sec: 3600, mode: all }",
    };

    private static string Yaml(Uri openAi, Uri anthropic)
    {
        var tenants = string.Concat(ScratchTenants.Select(t => $$"""
              - id: {{t}}
                tokens: [{ token_env: {{Var(t, "TOKEN")}}, role: admin }]
                api_keys:
                  - { key_env_var: {{Var(t, "OPENAI")}}, provider: openai, max_rpm: 1000, max_tpm: 10000000, cooldown_sec: 1 }
                  - { key_env_var: {{Var(t, "ANTHROPIC")}}, provider: anthropic, max_rpm: 1000, max_tpm: 10000000, cooldown_sec: 1 }
                model_rules:
            {{Indent(Rules, "      ")}}
                {{TenantCache(t)}}
            {{(t == "iso" ? "    models: { allow_unlisted: false }" : "")}}
            """ + "\n"));
        return $$"""
            tokens:
              - { token_env: ROXY_TOKEN, role: admin }
              - { token_env: ROXY_MEMBER_TOKEN, role: member }
            api_keys:
              - { key_env_var: CACHE_OPENAI_KEY, provider: openai, max_rpm: 1000, max_tpm: 10000000 }
              - { key_env_var: CACHE_ANTHROPIC_KEY, provider: anthropic, max_rpm: 1000, max_tpm: 10000000 }
            model_rules:
            {{Indent(Rules, "  ")}}
            cache: { enabled: true, ttl_sec: 3600, mode: all }
            providers:
              openai: { base_url: "{{openAi}}" }
              anthropic: { base_url: "{{anthropic}}" }
            rotation:
              max_wait_ms: 200
            tenants:
            {{tenants}}
            """;
    }

    public static string Indent(string lines, string prefix) =>
        string.Join("\n", lines.Split('\n').Select(l => prefix + l.TrimEnd()));

    /// <summary>
    /// The system clock moved on by <see cref="Advance"/>: wall-clock time only (what TTLs are measured in). Timers
    /// and timestamps stay real, so timeouts, rate windows and Orleans keep working while a test jumps ahead.
    /// </summary>
    public sealed class ShiftedClock : TimeProvider
    {
        private long _offsetTicks;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
    }
}

/// <summary>The <c>x-roxy-cache</c> value of every answer an SDK client got, in order.</summary>
public sealed class CacheHeaderLog
{
    private readonly ConcurrentQueue<string?> _values = new();

    public CacheHeaderLog() => Policy = new Capture(this);

    public IReadOnlyList<string?> Values => [.. _values];

    public string? Last => _values.LastOrDefault();

    internal PipelinePolicy Policy { get; }

    internal HttpMessageHandler Handler() => new Capturing(this) { InnerHandler = new SocketsHttpHandler { UseCookies = false } };

    private void Add(string? value) => _values.Enqueue(value);

    private sealed class Capture(CacheHeaderLog log) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            ProcessNext(message, pipeline, currentIndex);
            log.Add(message.Response!.Headers.TryGetValue("x-roxy-cache", out var value) ? value : null);
        }

        public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            await ProcessNextAsync(message, pipeline, currentIndex);
            log.Add(message.Response!.Headers.TryGetValue("x-roxy-cache", out var value) ? value : null);
        }
    }

    private sealed class Capturing(CacheHeaderLog log) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            log.Add(response.Headers.TryGetValues("x-roxy-cache", out var values) ? values.FirstOrDefault() : null);
            return response;
        }
    }
}

/// <summary>Every prompt cache test class shares one Roxy: they run one after another and reset the fakes.</summary>
[CollectionDefinition(Name)]
public sealed class CacheGroup : ICollectionFixture<CacheFixture>
{
    public const string Name = "prompt-cache";
}
