using System.Net;
using Npgsql;
using OpenAI.Chat;
using Roxy.FakeUpstream;
using Roxy.Grains;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>Everything lives in PostgreSQL: a full stop and start keeps tenants, keys and their runtime state.</summary>
public sealed class RestartTests : IAsyncLifetime
{
    private const string Token = "acme-admin-token-0123456789";
    private const string Secret1 = "sk-acme-one-0000000000000001";
    private const string Secret2 = "sk-acme-two-0000000000000002";
    private FakeOpenAiServer _upstream = null!;
    private string _postgres = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAiServer.StartAsync();
        _postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("restart");
    }

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private static Dictionary<string, string?> Env() => new(StringComparer.Ordinal)
    {
        ["ROXY_TOKEN"] = "default-admin-token-0123456789",
        ["ACME_TOKEN"] = Token,
        ["ACME_KEY_1"] = Secret1,
        ["ACME_KEY_2"] = Secret2,
    };

    private string Yaml(bool withSecondKey) => $$"""
        tokens: [{ token_env: ROXY_TOKEN, role: admin }]
        providers:
          openai: { base_url: "{{_upstream.BaseUrl}}" }
        # these tests measure the upstream path (calls, keys, rotation), not the prompt cache
        cache: { enabled: false }
        tenants:
          - id: acme
            tokens: [{ token_env: ACME_TOKEN, role: admin }]
            api_keys:
              - { key_env_var: ACME_KEY_1, provider: openai }
        {{(withSecondKey ? "      - { key_env_var: ACME_KEY_2, provider: openai }" : "")}}
            model_rules:
              - { source_model: house-model, target_models: [openai:gpt-4o-mini] }
        """;

    [Fact]
    public async Task Rules_added_by_chat_survive_a_full_restart()
    {
        await using (var first = await RoxyTestHost.StartAsync(Yaml(withSecondKey: false), Env(), _postgres))
        {
            var chat = first.Chat("anything", Token);
            ChatCompletion added = await chat.CompleteChatAsync([new UserChatMessage("#roxy add model chat-model openai:gpt-4o-mini")]);
            Assert.Contains("✅", added.Content[0].Text, StringComparison.Ordinal);
            await chat.CompleteChatAsync([new UserChatMessage("#roxy add model chat-model openai:gpt-4o roundrobin")]);
        }

        await using var second = await RoxyTestHost.StartAsync(Yaml(withSecondKey: false), Env(), _postgres);
        ChatCompletion listed = await second.Chat("anything", Token).CompleteChatAsync([new UserChatMessage("#roxy list models")]);
        Assert.Contains("| `chat-model` | roundrobin | runtime | `openai:gpt-4o-mini`, `openai:gpt-4o` | no |", listed.Content[0].Text, StringComparison.Ordinal);
        Assert.Contains("| `house-model` | fallback | config |", listed.Content[0].Text, StringComparison.Ordinal);

        _upstream.Reset();
        var answered = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ChatCompletion answer = await second.Chat("chat-model", Token).CompleteChatAsync([new UserChatMessage("hi")]);
            answered.Add(answer.Model);
        }

        Assert.Equal(2, answered.Count(m => m == "gpt-4o-mini"));
        Assert.Equal(2, answered.Count(m => m == "gpt-4o"));
    }

    [Fact]
    public async Task Tenants_and_runtime_key_state_survive_a_full_restart()
    {
        string disabledKeyId;
        await using (var first = await RoxyTestHost.StartAsync(Yaml(withSecondKey: true), Env(), _postgres))
        {
            ChatCompletion answer = await first.Chat("house-model", Token).CompleteChatAsync([new UserChatMessage("hi")]);
            Assert.Equal("gpt-4o-mini", answer.Model);

            var tenant = first.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("acme"));
            var snapshot = await tenant.GetSnapshotAsync();
            Assert.Equal(2, snapshot.Keys.Count);
            disabledKeyId = snapshot.Keys.Single(k => k.SecretRef == "ACME_KEY_2").Id;
            Assert.True(await tenant.SetKeyEnabledAsync(disabledKeyId, false, "disabled by an admin"));
        }

        await using (var second = await RoxyTestHost.StartAsync(Yaml(withSecondKey: true), Env(), _postgres))
        {
            var snapshot = await second.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("acme")).GetSnapshotAsync();
            var key = snapshot.Keys.Single(k => k.Id == disabledKeyId);
            Assert.False(key.Enabled, "applying the same YAML again does not re-enable a key an admin disabled");
            Assert.Equal("house-model", Assert.Single(snapshot.Rules).SourceModel);

            _upstream.Reset();
            for (var i = 0; i < 4; i++)
            {
                var response = await second.PostChatAsync(Token, """{"model":"house-model","messages":[{"role":"user","content":"hi"}]}""");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            Assert.All(_upstream.Requests, r => Assert.Equal(Secret1, r.ApiKey));
        }

        // Removing a key from the YAML removes it from Roxy.
        await using (var third = await RoxyTestHost.StartAsync(Yaml(withSecondKey: false), Env(), _postgres))
        {
            var snapshot = await third.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("acme")).GetSnapshotAsync();
            Assert.Equal("ACME_KEY_1", Assert.Single(snapshot.Keys).SecretRef);
        }

        // The tenant's row is plain JSON in PostgreSQL and holds no secret, only variable names.
        await using var connection = new NpgsqlConnection(_postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT convert_from(payloadbinary, 'UTF8') FROM orleansstorage WHERE graintypestring LIKE '%tenant%' AND convert_from(payloadbinary, 'UTF8') LIKE '%ACME_KEY_1%'", connection);
        var json = (string?)await command.ExecuteScalarAsync();
        Assert.NotNull(json);
        Assert.DoesNotContain(Secret1, json, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret2, json, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, json, StringComparison.Ordinal);
    }
}
