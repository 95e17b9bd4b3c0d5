using Roxy.FakeUpstream;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// One Roxy in front of one fake OpenAI upstream that serves two providers (<c>openai</c> and <c>backup</c>), with
/// embedding rules. Tests that change key state (failures, cooldowns, small windows) each have their own tenant.
/// </summary>
public sealed class EmbeddingsFixture : IAsyncLifetime
{
    public const string Token = "roxy-embed-token-0123456789";
    public const string OpenAiKey = "sk-embed-openai-aaaaaaaa1111";
    public const string BackupKey = "sk-embed-backup-bbbbbbbb2222";

    /// <summary>Tenants with one openai and one backup key each and the rule <c>my-embed</c>; token = "tok-{tenant}".</summary>
    public static readonly string[] ScratchTenants = ["fail-500", "fail-429", "all-429"];

    /// <summary>The tenant whose one key allows <see cref="SmallTpm"/> tokens a minute.</summary>
    public const string SmallTenant = "small";
    public const int SmallTpm = 300;

    public FakeOpenAiServer Upstream { get; private set; } = null!;
    public RoxyTestHost Roxy { get; private set; } = null!;

    public static string TokenOf(string tenant) => $"tok-{tenant}-0123456789";

    public static string KeyOf(string tenant, string provider) => $"sk-{tenant}-{provider}-abcdefghijklmnop";

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("embeddings");
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["EMB_TOKEN"] = Token,
            ["EMB_OPENAI_KEY"] = OpenAiKey,
            ["EMB_BACKUP_KEY"] = BackupKey,
            ["EMB_ANTHROPIC_KEY"] = "sk-ant-embed-cccccccc3333",
        };
        foreach (var tenant in (string[])[.. ScratchTenants, SmallTenant, "strict"])
        {
            environment[Var(tenant, "TOKEN")] = TokenOf(tenant);
            environment[Var(tenant, "OPENAI")] = KeyOf(tenant, "openai");
            environment[Var(tenant, "BACKUP")] = KeyOf(tenant, "backup");
        }

        Roxy = await RoxyTestHost.StartAsync(Yaml(Upstream.BaseUrl), environment, postgres);
    }

    public async Task DisposeAsync()
    {
        await Roxy.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    private static string Var(string tenant, string suffix) => $"EMB_{tenant.Replace('-', '_').ToUpperInvariant()}_{suffix}";

    private static string Yaml(Uri upstream)
    {
        var scratch = string.Concat(ScratchTenants.Select(t => $$"""
              - id: {{t}}
                tokens: [{ token_env: {{Var(t, "TOKEN")}}, role: admin }]
                api_keys:
                  - { key_env_var: {{Var(t, "OPENAI")}}, provider: openai, max_rpm: 1000, max_tpm: 1000000, cooldown_sec: 30 }
                  - { key_env_var: {{Var(t, "BACKUP")}}, provider: backup, max_rpm: 1000, max_tpm: 1000000, cooldown_sec: 30 }
                model_rules:
                  - { source_model: my-embed, target_models: [openai:text-embedding-3-small, backup:text-embedding-3-small] }
            """ + "\n"));
        return $$"""
            listen_addr: ":8080"
            tokens:
              - { token_env: EMB_TOKEN, role: admin }
            api_keys:
              - { key_env_var: EMB_OPENAI_KEY, provider: openai, max_rpm: 1000, max_tpm: 1000000 }
              - { key_env_var: EMB_BACKUP_KEY, provider: backup, max_rpm: 1000, max_tpm: 1000000 }
              - { key_env_var: EMB_ANTHROPIC_KEY, provider: anthropic }
            model_rules:
              - { source_model: my-embed, target_models: [openai:text-embedding-3-small, backup:text-embedding-3-small] }
              - { source_model: claude-first, target_models: [anthropic:text-embedding-3-small, openai:text-embedding-3-small] }
            providers:
              openai: { base_url: "{{upstream}}" }
              backup: { base_url: "{{upstream}}", kind: openai }
              anthropic: { base_url: "http://127.0.0.1:9/v1" }
            server:
              max_body_bytes: 65536
            rotation:
              max_wait_ms: 200
            tenants:
              - id: {{SmallTenant}}
                tokens: [{ token_env: {{Var(SmallTenant, "TOKEN")}}, role: admin }]
                api_keys:
                  - { key_env_var: {{Var(SmallTenant, "OPENAI")}}, provider: openai, max_rpm: 1000, max_tpm: {{SmallTpm}} }
              - id: strict
                tokens: [{ token_env: {{Var("strict", "TOKEN")}}, role: member }]
                api_keys: [{ key_env_var: {{Var("strict", "OPENAI")}}, provider: openai }]
                model_rules: [{ source_model: embed, target_models: [text-embedding-3-small] }]
                models: { allow_unlisted: false }
            {{scratch}}
            """;
    }
}
