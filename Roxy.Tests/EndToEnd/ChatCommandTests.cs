using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using OpenAI.Chat;
using Roxy.FakeUpstream;
using Roxy.Grains;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary><c>#roxy</c> commands typed into a chat, through the official OpenAI SDK and raw HTTP.</summary>
public sealed class ChatCommandTests : IClassFixture<CommandsFixture>
{
    private readonly CommandsFixture _f;

    public ChatCommandTests(CommandsFixture fixture)
    {
        _f = fixture;
        _f.Upstream.Reset();
    }

    private async Task<string> SayAsync(string token, string text, RoxyTestHost? host = null)
    {
        ChatCompletion reply = await (host ?? _f.Roxy).Chat("anything", token).CompleteChatAsync([new UserChatMessage(text)]);
        Assert.Equal("roxy", reply.Model);
        return reply.Content[0].Text;
    }

    [Fact]
    public async Task Help_answers_as_a_chat_completion_and_as_a_stream()
    {
        var text = await SayAsync(CommandsFixture.MemberToken, "  #roxy help");
        Assert.Contains("#roxy add key <provider> <key>", text, StringComparison.Ordinal);
        Assert.Contains("#roxy audit [N]", text, StringComparison.Ordinal);

        var streamed = new List<string>();
        string? model = null;
        await foreach (var update in _f.Roxy.Chat("gpt-4o-mini", CommandsFixture.MemberToken).CompleteChatStreamingAsync([new UserChatMessage("#roxy help")]))
        {
            model ??= update.Model;
            streamed.AddRange(update.ContentUpdate.Select(p => p.Text));
        }

        Assert.Equal("roxy", model);
        Assert.Equal(text, string.Concat(streamed));
        Assert.Empty(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Admin_adds_lists_and_uses_a_key_and_the_secret_goes_nowhere()
    {
        const string secret = "sk-added-by-chat-0123456789abcdef";
        var token = CommandsFixture.Admin("keys");
        var before = await _f.Roxy.PostChatAsync(token, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);

        var added = await SayAsync(token, $"#roxy add key openai {secret} rpm=100 tpm=50000");
        Assert.Contains("Added key `k-", added, StringComparison.Ordinal);
        Assert.Contains("sk-…cdef", added, StringComparison.Ordinal);

        var listed = await SayAsync(token, "#roxy list keys");
        Assert.Contains("sk-…cdef", listed, StringComparison.Ordinal);
        Assert.Contains("| 100 | 50000 |", listed, StringComparison.Ordinal);
        Assert.Contains("chat", listed, StringComparison.Ordinal);

        var after = await _f.Roxy.PostChatAsync(token, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(secret, Assert.Single(_f.Upstream.Requests).ApiKey);
        Assert.DoesNotContain(secret, await after.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.DoesNotContain(_f.Roxy.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(_f.Roxy.Logs.Lines, l => l.Contains(secret[3..], StringComparison.Ordinal));

        // Encrypted at rest: the tenant's row holds ciphertext, never the key.
        await using var connection = new NpgsqlConnection(_f.Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT string_agg(convert_from(payloadbinary, 'UTF8'), '\n') FROM orleansstorage WHERE payloadbinary IS NOT NULL", connection);
        var everything = (string)(await command.ExecuteScalarAsync())!;
        Assert.Contains("\"rx1.", everything, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(secret)), everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Earlier_command_turns_and_roxy_answers_never_travel_upstream()
    {
        const string secret = "sk-history-secret-0123456789abcd";
        var token = CommandsFixture.Admin("strip");
        var answer = await SayAsync(token, $"#roxy add key openai {secret}");
        var body = new JsonObject
        {
            ["model"] = "gpt-4o-mini",
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "be nice" },
                new JsonObject { ["role"] = "user", ["content"] = $"#roxy add key openai {secret}" },
                new JsonObject { ["role"] = "assistant", ["content"] = answer },
                new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "#roxy list keys" }) },
                new JsonObject { ["role"] = "assistant", ["content"] = "| id | provider |" },
                new JsonObject { ["role"] = "user", ["content"] = "and now a real question" }),
        };

        var response = await _f.Roxy.PostChatAsync(token, body.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = Assert.Single(_f.Upstream.Requests);
        Assert.DoesNotContain(secret, upstream.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("#roxy", upstream.Body, StringComparison.Ordinal);
        var messages = JsonNode.Parse(upstream.Body)!["messages"]!.AsArray();
        Assert.Equal(["be nice", "and now a real question"], messages.Select(m => m!["content"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Member_is_refused_admin_commands_with_a_message()
    {
        var text = await SayAsync(CommandsFixture.Member("roles"), "#roxy add key openai sk-member-tries-0123456789");
        Assert.Contains("needs an admin token", text, StringComparison.Ordinal);
        var audit = await _f.Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("roles")).GetAuditAsync(10);
        Assert.Empty(audit);
        Assert.Contains("needs an admin token", await SayAsync(CommandsFixture.Member("roles"), "#roxy list keys"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mistakes_get_friendly_answers_with_the_right_syntax()
    {
        var token = CommandsFixture.Admin("roles");
        Assert.Contains("Unknown command `frobnicate`", await SayAsync(token, "#roxy frobnicate now"), StringComparison.Ordinal);
        Assert.Contains("Usage: `#roxy add key <provider> <key> [rpm=N] [tpm=N] [cooldown=N]`", await SayAsync(token, "#roxy add key openai"), StringComparison.Ordinal);
        Assert.Contains("Unknown provider", await SayAsync(token, "#roxy add key nosuch sk-0123456789abcdef"), StringComparison.Ordinal);
        Assert.Contains("`rpm` must be a whole number", await SayAsync(token, "#roxy add key openai sk-0123456789abcdef rpm=lots"), StringComparison.Ordinal);
        Assert.Contains("No key `k-nope`", await SayAsync(token, "#roxy enable key k-nope"), StringComparison.Ordinal);

        // Arguments in the wrong order put the key where a provider or id belongs: it is never echoed back.
        foreach (var swapped in new[] { "#roxy add key sk-swapped-secret-0123456789 openai", "#roxy remove key sk-swapped-secret-0123456789 openai", "#roxy disable key sk-swapped-secret-0123456789" })
        {
            Assert.DoesNotContain("swapped-secret", await SayAsync(token, swapped), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Remove_key_takes_runtime_keys_and_refuses_config_keys()
    {
        var token = CommandsFixture.Admin("remove");
        await SayAsync(token, "#roxy add key openai sk-remove-me-0123456789abcdef");
        var removed = await SayAsync(token, "#roxy remove key openai sk-remove-me-0123456789abcdef");
        Assert.Contains("Removed key", removed, StringComparison.Ordinal);
        Assert.Contains("no provider keys", await SayAsync(token, "#roxy list keys"), StringComparison.Ordinal);

        var configKeyId = (await _f.Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("default")).GetSnapshotAsync()).Keys.Single().Id;
        var refused = await SayAsync(CommandsFixture.AdminToken, $"#roxy remove key openai {configKeyId}");
        Assert.Contains("comes from the configuration", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Same_secret_cannot_serve_two_tenants()
    {
        var refused = await SayAsync(CommandsFixture.Admin("roles"), $"#roxy add key openai {CommandsFixture.ConfigKey}");
        Assert.Contains("already used by another tenant", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("default", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_records_every_change_with_secrets_masked()
    {
        const string secret = "sk-audited-secret-0123456789wxyz";
        var token = CommandsFixture.Admin("audit");
        var added = await SayAsync(token, $"#roxy add key openai {secret}");
        var id = added[(added.IndexOf("`k-", StringComparison.Ordinal) + 1)..][..12];
        await SayAsync(token, $"#roxy disable key {id}");
        await SayAsync(token, $"#roxy enable key {id}");

        var audit = await SayAsync(token, "#roxy audit 5");
        Assert.Contains($"enable key {id}", audit, StringComparison.Ordinal);
        Assert.Contains($"disable key {id}", audit, StringComparison.Ordinal);
        Assert.Contains("add key openai sk-…wxyz", audit, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, audit, StringComparison.Ordinal);
        Assert.Contains("t-", audit, StringComparison.Ordinal);
        Assert.True(audit.IndexOf("enable key", StringComparison.Ordinal) < audit.IndexOf("disable key", StringComparison.Ordinal), "newest first");
    }

    [Fact]
    public async Task Test_key_reports_the_result_and_rate_limit_headers()
    {
        var token = CommandsFixture.Admin("testkey");
        var added = await SayAsync(token, "#roxy add key openai sk-testkey-0123456789abcdef");
        var id = added[(added.IndexOf("`k-", StringComparison.Ordinal) + 1)..][..12];
        var ok = await SayAsync(token, $"#roxy test key {id}");
        Assert.Contains("HTTP 200", ok, StringComparison.Ordinal);
        Assert.Contains("x-ratelimit-remaining-requests", ok, StringComparison.Ordinal);

        _f.Upstream.SetKeyBehavior("sk-testkey-0123456789abcdef", FakeResponse.Unauthorized());
        var refused = await SayAsync(token, $"#roxy test key {id}");
        Assert.Contains("HTTP 401", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-testkey", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_shows_keys_per_provider_and_silos()
    {
        var token = CommandsFixture.Admin("status");
        await SayAsync(token, "#roxy add key openai sk-status-0123456789abcdef");
        await _f.Roxy.PostChatAsync(token, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
        var status = await SayAsync(token, "#roxy status");
        Assert.Contains("1 silo(s)", status, StringComparison.Ordinal);
        Assert.Contains("| openai | 1 | 0 | 0 | 1 |", status, StringComparison.Ordinal);
        Assert.Contains("runs the applied config", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_refused_with_401_comes_back_when_the_provider_accepts_it_again()
    {
        const string secret = "sk-probe-me-0123456789abcdef";
        var token = CommandsFixture.Admin("probe");
        await SayAsync(token, $"#roxy add key openai {secret}");
        _f.Upstream.SetKeyBehavior(secret, FakeResponse.Unauthorized());
        var failed = await _f.Roxy.PostChatAsync(token, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        var tenant = _f.Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("probe"));
        // The refusal is persisted in the background (acquires never wait on that write).
        await Eventually.TrueAsync(async () => (await tenant.GetSnapshotAsync()).Keys.Single().DisabledReason == "auth");

        _f.Upstream.SetKeyBehavior(secret, null);
        await Eventually.TrueAsync(async () => (await tenant.GetSnapshotAsync()).Keys.Single().Enabled, TimeSpan.FromSeconds(20));
        var recovered = await _f.Roxy.PostChatAsync(token, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }

    [Fact]
    public async Task Keys_added_in_chat_survive_a_full_restart()
    {
        const string secret = "sk-persisted-0123456789abcdef";
        var token = CommandsFixture.Admin("persist");
        await using (var first = await _f.StartHostAsync())
        {
            await SayAsync(token, $"#roxy add key openai {secret} rpm=42", first);
        }

        await using var second = await _f.StartHostAsync();
        var listed = await SayAsync(token, "#roxy list keys", second);
        Assert.Contains("| 42 |", listed, StringComparison.Ordinal);
        var response = await second.PostChatAsync(token, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(secret, _f.Upstream.Requests[^1].ApiKey);
    }
}

/// <summary>Without ROXY_MASTER_KEY, keys cannot be added at run time, and Roxy says why.</summary>
public sealed class ChatCommandWithoutMasterKeyTests(ProxyFixture fixture) : IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task Add_key_is_refused_with_an_explanation()
    {
        ChatCompletion reply = await fixture.Roxy.Chat("x", ProxyFixture.AdminToken)
            .CompleteChatAsync([new UserChatMessage("#roxy add key openai sk-no-master-key-0123456789")]);
        var text = reply.Content[0].Text;
        Assert.Contains("ROXY_MASTER_KEY", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-no-master-key", text, StringComparison.Ordinal);
        Assert.Empty((await fixture.Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("default")).GetAuditAsync(10)));
    }
}
