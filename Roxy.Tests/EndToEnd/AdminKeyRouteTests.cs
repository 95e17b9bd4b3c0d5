using System.Net;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>The key routes of SPEC §4a over real HTTP, against the same operations the <c>#roxy</c> key commands use.</summary>
[Collection(AdminKeyRoutesGroup.Name)]
public sealed class AdminKeyRouteTests(AdminKeyRoutesFixture f)
{
    private const string Json = "application/json";

    /// <summary>Every key, rule, cache and audit route, with a body where it takes one.</summary>
    public static TheoryData<string, string, string?> Routes => new()
    {
        { "GET", "keys", null },
        { "POST", "keys", """{"provider":"openai","key":"sk-callers-never-stored-0123456789"}""" },
        { "DELETE", "keys/k-0123456789", null },
        { "POST", "keys/k-0123456789/enable", null },
        { "POST", "keys/k-0123456789/disable", null },
        { "GET", "rules", null },
        { "PUT", "rules/openai/gpt-4o", """{"targets":["openai:gpt-4o"]}""" },
        { "DELETE", "rules/openai/gpt-4o", null },
        { "GET", "cache", null },
        { "DELETE", "cache", null },
        { "GET", "audit", null },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Each_route_refuses_no_token_a_member_and_another_tenants_admin_in_openai_shape(string method, string path, string? body)
    {
        var url = $"admin/tenants/callers/{path}";
        var (none, noneBody) = await f.CallAsync(new HttpMethod(method), url, null, body);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("invalid_api_key", noneBody!["error"]!["code"]!.GetValue<string>());

        var (wrong, _) = await f.CallAsync(new HttpMethod(method), url, "not-a-token-0123456789", body);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);

        var (member, memberBody) = await f.CallAsync(new HttpMethod(method), url, AdminKeyRoutesFixture.Member("callers"), body);
        Assert.Equal(HttpStatusCode.Forbidden, member.StatusCode);
        Assert.Equal("admin_token_required", memberBody!["error"]!["code"]!.GetValue<string>());

        var (other, otherBody) = await f.CallAsync(new HttpMethod(method), url, AdminKeyRoutesFixture.Admin("other"), body);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal("tenant_not_found", otherBody!["error"]!["code"]!.GetValue<string>());

        // Neither refusal changed anything: the tenant's audit log is as empty as before.
        var (audit, auditBody) = await f.CallAsync(HttpMethod.Get, "admin/tenants/callers/audit", AdminKeyRoutesFixture.OperatorToken);
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        Assert.Empty(auditBody!["data"]!.AsArray());
    }

    [Theory]
    [InlineData("GET", "keys")]
    [InlineData("GET", "rules")]
    [InlineData("GET", "cache")]
    [InlineData("GET", "audit")]
    public async Task Reads_answer_the_operator_and_the_tenants_admin_alike(string method, string path)
    {
        var url = $"admin/tenants/other/{path}";
        var (byOperator, operatorBody) = await f.CallAsync(new HttpMethod(method), url, AdminKeyRoutesFixture.OperatorToken);
        var (byAdmin, adminBody) = await f.CallAsync(new HttpMethod(method), url, AdminKeyRoutesFixture.Admin("other"));
        Assert.Equal(HttpStatusCode.OK, byOperator.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byAdmin.StatusCode);
        Assert.Equal(Json, byAdmin.Content.Headers.ContentType!.MediaType);
        Assert.Equal(operatorBody!.ToJsonString(), adminBody!.ToJsonString());
    }

    [Fact]
    public async Task A_key_added_by_the_api_is_listed_by_chat_serves_requests_and_is_never_echoed()
    {
        const string secret = "sk-added-by-api-0123456789abcdef";
        var token = AdminKeyRoutesFixture.Admin("keys");
        var (added, body) = await f.CallAsync(HttpMethod.Post, "admin/tenants/keys/keys", token,
            $$"""{"provider":"OpenAI","key":"{{secret}}","max_rpm":100,"max_tpm":50000,"cooldown_sec":7}""");
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var id = body!["id"]!.GetValue<string>();
        Assert.StartsWith("k-", id, StringComparison.Ordinal);
        Assert.Equal("sk-…cdef", body["mask"]!.GetValue<string>());
        Assert.Equal("openai", body["provider"]!.GetValue<string>());
        Assert.Equal(100, body["limits"]!["max_rpm"]!.GetValue<long>());
        Assert.Equal(50000, body["limits"]!["max_tpm"]!.GetValue<long>());
        Assert.Equal(7, body["limits"]!["cooldown_sec"]!.GetValue<int>());
        Assert.DoesNotContain(secret, body.ToJsonString(), StringComparison.Ordinal);

        var listed = await f.SayAsync(token, "#roxy list keys");
        Assert.Contains($"| `{id}` | openai | `sk-…cdef` | 100 | 50000 | 7s | active |", listed, StringComparison.Ordinal);

        f.Upstream.Reset();
        var proxied = await f.ChatAsync(token, "gpt-4o-mini");
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.Equal(id, proxied.Headers.GetValues("x-roxy-key").Single());
        Assert.Contains(f.Upstream.Requests, r => r.ApiKey == secret);

        var (list, listBody) = await f.CallAsync(HttpMethod.Get, "admin/tenants/keys/keys", token);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var row = Assert.Single(listBody!["data"]!.AsArray())!;
        Assert.Equal(id, row["id"]!.GetValue<string>());
        Assert.Equal("runtime", row["source"]!.GetValue<string>());
        Assert.Equal("active", row["state"]!.GetValue<string>());
        Assert.True(row["requests_this_minute"]!.GetValue<long>() >= 1);
        Assert.DoesNotContain(secret, listBody.ToJsonString(), StringComparison.Ordinal);

        // The same secret again is the key already there.
        var (again, againBody) = await f.CallAsync(HttpMethod.Post, "admin/tenants/keys/keys", token, $$"""{"provider":"openai","key":"{{secret}}"}""");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("key_already_present", againBody!["error"]!["code"]!.GetValue<string>());

        var (disabled, disabledBody) = await f.CallAsync(HttpMethod.Post, $"admin/tenants/keys/keys/{id}/disable", token);
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        Assert.False(disabledBody!["enabled"]!.GetValue<bool>());
        Assert.Equal("disabled (by an admin)", disabledBody["state"]!.GetValue<string>());
        Assert.Contains("disabled (by an admin)", await f.SayAsync(token, "#roxy list keys"), StringComparison.Ordinal);

        var (enabled, enabledBody) = await f.CallAsync(HttpMethod.Post, $"admin/tenants/keys/keys/{id}/enable", token);
        Assert.Equal(HttpStatusCode.OK, enabled.StatusCode);
        Assert.Equal("active", enabledBody!["state"]!.GetValue<string>());

        Assert.DoesNotContain(f.Roxy.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        var (_, audit) = await f.CallAsync(HttpMethod.Get, "admin/tenants/keys/audit", token);
        Assert.DoesNotContain(secret, audit!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_added_by_chat_is_listed_by_the_api_and_removed_by_it()
    {
        const string secret = "sk-added-by-chat-for-api-0123456789";
        var token = AdminKeyRoutesFixture.Admin("chatkeys");
        var added = await f.SayAsync(token, $"#roxy add key openai {secret} rpm=60");
        Assert.Contains("Added key `k-", added, StringComparison.Ordinal);

        var (_, listBody) = await f.CallAsync(HttpMethod.Get, "admin/tenants/chatkeys/keys", AdminKeyRoutesFixture.OperatorToken);
        var row = Assert.Single(listBody!["data"]!.AsArray())!;
        var id = row["id"]!.GetValue<string>();
        Assert.Contains(id, added, StringComparison.Ordinal);
        Assert.Equal(60, row["limits"]!["max_rpm"]!.GetValue<long>());

        f.Upstream.Reset();
        Assert.Equal(HttpStatusCode.OK, (await f.ChatAsync(token, "gpt-4o-mini")).StatusCode);
        Assert.Contains(f.Upstream.Requests, r => r.ApiKey == secret);

        var (removed, _) = await f.CallAsync(HttpMethod.Delete, $"admin/tenants/chatkeys/keys/{id}", AdminKeyRoutesFixture.OperatorToken);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Contains("no provider keys yet", await f.SayAsync(token, "#roxy list keys"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await f.ChatAsync(token, "gpt-4o-mini")).StatusCode);

        var (gone, goneBody) = await f.CallAsync(HttpMethod.Delete, $"admin/tenants/chatkeys/keys/{id}", token);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("id", goneBody!["error"]!["param"]!.GetValue<string>());
        var (enableGone, _) = await f.CallAsync(HttpMethod.Post, $"admin/tenants/chatkeys/keys/{id}/enable", token);
        Assert.Equal(HttpStatusCode.NotFound, enableGone.StatusCode);
    }

    [Fact]
    public async Task Config_keys_and_keys_of_another_tenant_are_conflicts()
    {
        var token = AdminKeyRoutesFixture.Admin("conflict");
        var (_, listBody) = await f.CallAsync(HttpMethod.Get, "admin/tenants/conflict/keys", token);
        var config = Assert.Single(listBody!["data"]!.AsArray())!;
        Assert.Equal("config", config["source"]!.GetValue<string>());
        Assert.Equal("config", config["owner"]!.GetValue<string>());
        Assert.Equal("CONFLICT_CONFIG_KEY", config["source_variable"]!.GetValue<string>());
        var id = config["id"]!.GetValue<string>();

        var (removed, removedBody) = await f.CallAsync(HttpMethod.Delete, $"admin/tenants/conflict/keys/{id}", token);
        Assert.Equal(HttpStatusCode.Conflict, removed.StatusCode);
        Assert.Equal("config_owned", removedBody!["error"]!["code"]!.GetValue<string>());

        // A config key may still be taken out of rotation.
        var (disabled, _) = await f.CallAsync(HttpMethod.Post, $"admin/tenants/conflict/keys/{id}/disable", token);
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await f.CallAsync(HttpMethod.Post, $"admin/tenants/conflict/keys/{id}/enable", token)).Response.StatusCode);

        // The conflict tenant's config key, offered to another tenant.
        var (held, heldBody) = await f.CallAsync(HttpMethod.Post, "admin/tenants/badkeys/keys", AdminKeyRoutesFixture.Admin("badkeys"),
            $$"""{"provider":"openai","key":"{{AdminKeyRoutesFixture.ConfigKey}}"}""");
        Assert.Equal(HttpStatusCode.Conflict, held.StatusCode);
        Assert.Equal("key_held_by_another_tenant", heldBody!["error"]!["code"]!.GetValue<string>());
        Assert.DoesNotContain(AdminKeyRoutesFixture.ConfigKey, heldBody.ToJsonString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"provider":"nosuch","key":"sk-bad-input-0123456789"}""", "provider", "Unknown provider")]
    [InlineData("""{"provider":"sk-bad-input-0123456789","key":"openai"}""", "provider", "Unknown provider")]
    [InlineData("""{"key":"sk-bad-input-0123456789"}""", "provider", "'provider' is required")]
    [InlineData("""{"provider":"openai"}""", "key", "'key' is required")]
    [InlineData("""{"provider":"openai","key":"short"}""", "key", "does not look like an API key")]
    [InlineData("""{"provider":"openai","key":"sk-bad-input-0123456789","max_rpm":0}""", "max_rpm", "at least 1")]
    [InlineData("""{"provider":"openai","key":"sk-bad-input-0123456789","max_tpm":-5}""", "max_tpm", "at least 1")]
    [InlineData("""{"provider":"openai","key":"sk-bad-input-0123456789","cooldown_sec":-1}""", "cooldown_sec", "at least 0")]
    [InlineData("""{"provider":"openai","key":"sk-bad-input-0123456789","max_rpm":"lots"}""", "max_rpm", "wrong type")]
    [InlineData("""{"provider":"openai","key":"sk-bad-input-0123456789","max_rpm":1.5}""", "max_rpm", "wrong type")]
    [InlineData("""{"provider":"openai","key":12345678901}""", "key", "wrong type")]
    [InlineData("""{"provider":"openai","key":"sk-bad-input-0123456789","rpm":10}""", "rpm", "Unknown field 'rpm'")]
    [InlineData("""["openai"]""", null, "documented shape")]
    [InlineData("""{"provider":"openai",""", null, "")]
    [InlineData("", null, "")]
    public async Task Bad_key_requests_are_400_in_openai_shape_and_change_nothing(string json, string? param, string message)
    {
        var (response, body) = await f.CallAsync(HttpMethod.Post, "admin/tenants/badkeys/keys", AdminKeyRoutesFixture.Admin("badkeys"), json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = body!["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(param, error["param"]?.GetValue<string>());
        Assert.Contains(message, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-bad-input", body.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Roxy.Api", body.ToJsonString(), StringComparison.Ordinal);

        var (_, list) = await f.CallAsync(HttpMethod.Get, "admin/tenants/badkeys/keys", AdminKeyRoutesFixture.Admin("badkeys"));
        Assert.Empty(list!["data"]!.AsArray());
    }

    [Fact]
    public async Task Without_a_master_key_adding_a_key_is_400_saying_so()
    {
        var environment = new Dictionary<string, string?>(f.Environment, StringComparer.Ordinal) { ["ROXY_MASTER_KEY"] = null };
        // A Roxy of its own (its own database, so not a second silo of the shared one).
        await using var host = await f.StartHostAsync(environment, await (await PostgresServer.GetAsync()).CreateDatabaseAsync("admin_keys_nomaster"));
        var (response, body) = await f.CallAsync(HttpMethod.Post, "admin/tenants/badkeys/keys", AdminKeyRoutesFixture.OperatorToken,
            """{"provider":"openai","key":"sk-no-master-key-0123456789"}""", host);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("ROXY_MASTER_KEY", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-no-master-key", body.ToJsonString(), StringComparison.Ordinal);
    }
    [Fact]
    public async Task Every_route_is_documented_with_summary_description_and_examples()
    {
        var (response, document) = await f.CallAsync(HttpMethod.Get, "openapi/v1.json", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var operations = document!["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => (Path: p.Key, Method: o.Key, Operation: o.Value!)))
            .Where(o => o.Operation["operationId"] is not null)
            .ToDictionary(o => o.Operation["operationId"]!.GetValue<string>(), o => o);
        string[] withBody = ["AddKey", "PutRule"];
        string[] withAnswer = ["ListKeys", "AddKey", "EnableKey", "DisableKey", "ListRules", "PutRule", "GetCacheStats", "ClearCache", "ReadAudit"];
        foreach (var id in withAnswer.Append("RemoveKey").Append("RemoveRule"))
        {
            var (path, _, operation) = operations[id];
            Assert.StartsWith("/admin/tenants/{tenant}/", path, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(operation["summary"]?.GetValue<string>()), id);
            Assert.False(string.IsNullOrWhiteSpace(operation["description"]?.GetValue<string>()), id);
            Assert.NotNull(operation["responses"]!["403"]);
        }

        foreach (var id in withBody)
        {
            Assert.NotNull(operations[id].Operation["requestBody"]!["content"]!["application/json"]!["example"]);
        }

        foreach (var id in withAnswer)
        {
            var answer = operations[id].Operation["responses"]!.AsObject().First(r => r.Key.StartsWith('2')).Value!;
            Assert.NotNull(answer["content"]!["application/json"]!["example"]);
        }

        Assert.Equal("sk-…a1b2", operations["AddKey"].Operation["responses"]!["201"]!["content"]!["application/json"]!["example"]!["mask"]!.GetValue<string>());
        Assert.StartsWith("/admin/tenants/{tenant}/rules/{", operations["PutRule"].Path, StringComparison.Ordinal);
    }
}
