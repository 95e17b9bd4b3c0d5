using System.Net;
using Npgsql;
using Roxy.Grains;
using Roxy.Grains.Budgets;
using Roxy.Grains.Caching;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;
using static Roxy.Tests.EndToEnd.AdminFixture;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Runtime tenants and their tokens through the admin API, end to end: real HTTP, the OpenAI SDK on the proxy, real
/// PostgreSQL, #roxy commands with an issued token.
/// </summary>
public sealed class AdminTenantTests(AdminFixture fixture) : IClassFixture<AdminFixture>
{
    private ITenantGrain Tenant(string id) => fixture.Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(id));

    [Fact]
    public async Task A_created_tenants_issued_token_works_on_the_proxy_and_commands_until_revoked()
    {
        var admin = await fixture.CreateTenantWithAdminAsync("life-one");
        Assert.StartsWith("roxy-", admin, StringComparison.Ordinal);

        var added = await fixture.SayAsync(admin, "#roxy add key openai sk-life-one-key-0123456789abcdef");
        Assert.Contains("sk-", added, StringComparison.Ordinal);
        var answer = await fixture.Roxy.Chat("gpt-4o-mini", admin).CompleteChatAsync([new OpenAI.Chat.UserChatMessage("hello")]);
        Assert.Equal("gpt-4o-mini", answer.Value.Model);
        Assert.Contains(fixture.Upstream.Requests, r => r.ApiKey == "sk-life-one-key-0123456789abcdef");

        var (_, list) = await fixture.CallAsync(HttpMethod.Get, "admin/tenants/life-one/tokens", admin);
        var token = Assert.Single(list!["data"]!.AsArray())!;
        Assert.Equal("admin", token["role"]!.GetValue<string>());
        Assert.Equal("runtime", token["owner"]!.GetValue<string>());
        Assert.Equal("first", token["name"]!.GetValue<string>());
        Assert.NotNull(token["created"]);
        Assert.True(token.AsObject().ContainsKey("last_used"));
        // Never the token or its hash.
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(admin)));
        Assert.DoesNotContain(admin, list.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(hash, list.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("t-" + hash[..10], token["id"]!.GetValue<string>());

        var (revoked, _) = await fixture.CallAsync(HttpMethod.Delete, $"admin/tenants/life-one/tokens/t-{hash[..10]}", Operator);
        Assert.Equal(HttpStatusCode.NoContent, revoked);
        // Refused by this frontend at once, on the proxy and the admin API alike.
        using var proxy = await fixture.Roxy.PostChatAsync(admin, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.Unauthorized, proxy.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.CallAsync(HttpMethod.Get, "admin/tenants/life-one/tokens", admin)).Status);

        var audit = await Tenant("life-one").GetAuditAsync(20);
        Assert.Contains(audit, a => a.Channel == "api" && a.TokenId == "operator" && a.Action == "create tenant life-one");
        Assert.Contains(audit, a => a.Channel == "api" && a.Action.StartsWith("issue token t-" + hash[..10], StringComparison.Ordinal));
        Assert.Contains(audit, a => a.Channel == "api" && a.Action == "revoke token t-" + hash[..10]);
        Assert.Contains(audit, a => a.Channel == "chat" && a.Action.StartsWith("add key", StringComparison.Ordinal));
        Assert.All(audit, a => Assert.DoesNotContain(admin, a.Action, StringComparison.Ordinal));
        Assert.DoesNotContain(admin, string.Join("\n", fixture.Roxy.Logs.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleting_a_tenant_removes_its_tokens_keys_rules_and_cache_and_the_id_starts_empty_again()
    {
        const string secret = "sk-doomed-key-0123456789abcdef";
        var admin = await fixture.CreateTenantWithAdminAsync("doomed");
        await fixture.SayAsync(admin, $"#roxy add key openai {secret}");
        await fixture.SayAsync(admin, "#roxy add model fast openai:gpt-4o-mini");
        await fixture.Roxy.Chat("fast", admin).CompleteChatAsync([new OpenAI.Chat.UserChatMessage("cache me")]);
        await Eventually.TrueAsync(async () => await CacheRowsAsync("doomed") > 0, TimeSpan.FromSeconds(10), "the answer should be stored in the prompt cache");
        var generation = (await Tenant("doomed").GetSnapshotAsync()).CacheGeneration;
        var stats = fixture.Roxy.Grains.GetGrain<ICacheStatsGrain>(GrainKeys.CacheStats("doomed"));
        await Eventually.TrueAsync(async () => (await stats.GetAsync(generation)).Misses > 0, TimeSpan.FromSeconds(10), "the frontend reports the miss to the stats grain");

        var (deleted, _) = await fixture.CallAsync(HttpMethod.Delete, "admin/tenants/doomed", Operator);
        Assert.Equal(HttpStatusCode.NoContent, deleted);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.Roxy.PostChatAsync(admin, """{"model":"fast","messages":[{"role":"user","content":"hi"}]}""")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.CallAsync(HttpMethod.Get, "admin/tenants/doomed/tokens", Operator)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.CallAsync(HttpMethod.Delete, "admin/tenants/doomed", Operator)).Status);
        var (_, tenants) = await fixture.CallAsync(HttpMethod.Get, "admin/tenants", Operator);
        Assert.DoesNotContain(tenants!["data"]!.AsArray(), t => t!["id"]!.GetValue<string>() == "doomed");
        Assert.Null((await fixture.Roxy.Grains.GetGrain<IModelRuleGrain>(GrainKeys.ModelRule("doomed", "fast")).GetAsync()).Rule);
        await Eventually.TrueAsync(async () => await CacheRowsAsync("doomed") == 0, TimeSpan.FromSeconds(10), "the deleted tenant's cache rows should go");

        // The key it held is free: another tenant may add it.
        Assert.DoesNotContain("another tenant", await fixture.SayAsync(BetaAdmin, $"#roxy add key openai {secret}"), StringComparison.OrdinalIgnoreCase);
        var beta = await Tenant("beta").GetSnapshotAsync();
        Assert.Single(beta.Keys);

        var again = await fixture.CreateTenantWithAdminAsync("doomed");
        var fresh = await Tenant("doomed").GetSnapshotAsync();
        Assert.Empty(fresh.Keys);
        Assert.Empty(fresh.Rules);
        Assert.Single(fresh.Tokens);
        Assert.True(fresh.CacheGeneration > generation);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.Roxy.PostChatAsync(admin, """{"model":"fast","messages":[{"role":"user","content":"hi"}]}""")).StatusCode);
        Assert.Contains("no model rules", await fixture.SayAsync(again, "#roxy list models"), StringComparison.Ordinal);
        // No history of the old owner: the audit has only the new tenant's entries, the deletion is in the log instead.
        Assert.Equal(["issue token", "create tenant doomed"], (await Tenant("doomed").GetAuditAsync(50)).Select(a => a.Action.StartsWith("issue token", StringComparison.Ordinal) ? "issue token" : a.Action));
        Assert.Contains(fixture.Roxy.Logs.Lines, l => l.StartsWith("Information", StringComparison.Ordinal) && l.Contains("Tenant doomed deleted by operator (api)", StringComparison.Ordinal));
        var (_, cache) = await fixture.CallAsync(HttpMethod.Get, "admin/tenants/doomed/cache", Operator);
        Assert.Equal((0L, 0L), (cache!["hits"]!.GetValue<long>(), cache["misses"]!.GetValue<long>()));
    }

    [Fact]
    public async Task Listing_shows_config_and_runtime_tenants_with_their_counts()
    {
        await fixture.CreateTenantWithAdminAsync("listed");
        var (status, body) = await fixture.CallAsync(HttpMethod.Get, "admin/tenants", Operator);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("list", body!["object"]!.GetValue<string>());
        var data = body["data"]!.AsArray().ToDictionary(t => t!["id"]!.GetValue<string>());
        Assert.Equal("config", data["alpha"]!["owner"]!.GetValue<string>());
        Assert.True(data["alpha"]!["tokens"]!.GetValue<int>() >= 2);
        Assert.Equal(1, data["alpha"]!["keys"]!.GetValue<int>());
        Assert.Equal("runtime", data["listed"]!["owner"]!.GetValue<string>());
        Assert.Equal(1, data["listed"]!["tokens"]!.GetValue<int>());
        Assert.Equal(0, data["listed"]!["keys"]!.GetValue<int>());
        Assert.Equal("config", data["default"]!["owner"]!.GetValue<string>());
    }

    [Fact]
    public async Task Creating_refuses_taken_and_bad_ids_and_bad_bodies_in_openai_shape()
    {
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants", """{"id":"alpha"}""", HttpStatusCode.Conflict, null);
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants", """{"id":"Bad/Id"}""", HttpStatusCode.BadRequest, "id", "lowercase");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants", """{"id":5}""", HttpStatusCode.BadRequest, "id");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants", """{}""", HttpStatusCode.BadRequest, "id");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants", """{"id":"ok-id","extra":1}""", HttpStatusCode.BadRequest, "extra");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants", null, HttpStatusCode.BadRequest, null);
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants", """{"id":""", HttpStatusCode.BadRequest, null);
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants", """["x"]""", HttpStatusCode.BadRequest, null);
        await AssertRefusedAsync(HttpMethod.Delete, "admin/tenants/alpha", null, HttpStatusCode.Conflict, null);
        await AssertRefusedAsync(HttpMethod.Delete, "admin/tenants/never-was", null, HttpStatusCode.NotFound, "tenant");
        Assert.DoesNotContain((await fixture.CallAsync(HttpMethod.Get, "admin/tenants", Operator)).Body!["data"]!.AsArray(), t => t!["id"]!.GetValue<string>() == "ok-id");
    }

    [Fact]
    public async Task Issuing_checks_role_name_and_budget_against_the_tenants()
    {
        await fixture.CreateTenantWithAdminAsync("issuing");
        Assert.Equal(HttpStatusCode.OK, (await fixture.CallAsync(HttpMethod.Put, "admin/tenants/issuing/budget", Operator, """{"daily_usd":2,"monthly_usd":20}""")).Status);

        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants/issuing/tokens", """{"name":"x"}""", HttpStatusCode.BadRequest, "role");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants/issuing/tokens", """{"role":"owner"}""", HttpStatusCode.BadRequest, "role");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants/issuing/tokens", """{"role":"member","budget":{"daily_usd":3}}""", HttpStatusCode.BadRequest, "budget.daily_usd");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants/issuing/tokens", """{"role":"member","budget":{"monthly_usd":21}}""", HttpStatusCode.BadRequest, "budget.monthly_usd");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants/issuing/tokens", """{"role":"member","budget":{"daily_usd":-1}}""", HttpStatusCode.BadRequest, "budget.daily_usd");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants/issuing/tokens", """{"role":"member","budget":{"weekly_usd":1}}""", HttpStatusCode.BadRequest, "budget.weekly_usd");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants/issuing/tokens", """{"role":"member","budget":"lots"}""", HttpStatusCode.BadRequest, "budget");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants/issuing/tokens", $$"""{"role":"member","name":"{{new string('n', 65)}}"}""", HttpStatusCode.BadRequest, "name");
        await AssertRefusedAsync(HttpMethod.Post, "admin/tenants/issuing/tokens", """{"role":"member","secret":"x"}""", HttpStatusCode.BadRequest, "secret");

        var (status, issued) = await fixture.CallAsync(HttpMethod.Post, "admin/tenants/issuing/tokens", Operator, """{"role":"member","name":"ci","budget":{"daily_usd":1.5}}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("member", issued!["role"]!.GetValue<string>());
        Assert.Equal(1.5m, issued["budget"]!["daily_usd"]!.GetValue<decimal>());
        Assert.Null(issued["budget"]!["monthly_usd"]);
        var stored = (await Tenant("issuing").GetSnapshotAsync()).Tokens.Single(t => t.Id == issued["id"]!.GetValue<string>());
        Assert.Equal(new BudgetLimits(1.5m, null), stored.Budget);
        Assert.NotEqual(issued["token"]!.GetValue<string>(), stored.Hash);

        // A member token it issued may use the proxy but not the admin routes.
        var member = issued["token"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Forbidden, (await fixture.CallAsync(HttpMethod.Get, "admin/tenants/issuing/tokens", member)).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await fixture.CallAsync(HttpMethod.Delete, $"admin/tenants/alpha/tokens/{(await Tenant("alpha").GetSnapshotAsync()).Tokens[0].Id}", AlphaAdmin)).Status);
    }

    [Fact]
    public async Task The_budget_route_sets_removes_and_refuses_a_config_budget()
    {
        await fixture.CreateTenantWithAdminAsync("budgeted");
        var (status, body) = await fixture.CallAsync(HttpMethod.Put, "admin/tenants/budgeted/budget", Operator, """{"daily_usd":5,"monthly_usd":null}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(5m, body!["daily_usd"]!.GetValue<decimal>());
        Assert.Null(body["monthly_usd"]);
        Assert.Equal(new BudgetLimits(5m, null), (await Tenant("budgeted").GetSnapshotAsync()).Budget);
        Assert.Contains(await Tenant("budgeted").GetAuditAsync(5), a => a.Action == "set tenant budget daily 5 / monthly none USD" && a.Channel == "api");

        await AssertRefusedAsync(HttpMethod.Put, "admin/tenants/budgeted/budget", """{"daily_usd":-0.01}""", HttpStatusCode.BadRequest, "daily_usd");
        await AssertRefusedAsync(HttpMethod.Put, "admin/tenants/budgeted/budget", """{"daily_usd":"5"}""", HttpStatusCode.BadRequest, "daily_usd");
        await AssertRefusedAsync(HttpMethod.Put, "admin/tenants/budgeted/budget", """{"yearly_usd":5}""", HttpStatusCode.BadRequest, "yearly_usd");
        await AssertRefusedAsync(HttpMethod.Put, "admin/tenants/budgeted/budget", null, HttpStatusCode.BadRequest, null);
        await AssertRefusedAsync(HttpMethod.Put, "admin/tenants/nobody/budget", "{}", HttpStatusCode.NotFound, "tenant");
        Assert.Equal(new BudgetLimits(5m, null), (await Tenant("budgeted").GetSnapshotAsync()).Budget);

        (status, body) = await fixture.CallAsync(HttpMethod.Put, "admin/tenants/budgeted/budget", Operator, """{"daily_usd":null}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(body!["daily_usd"]);
        Assert.Null((await Tenant("budgeted").GetSnapshotAsync()).Budget);

        // A budget the config sets (as the config applier hands it over) is the YAML's to change.
        await Tenant("budgeted-config").ApplyConfigAsync(new TenantConfigSnapshot("f", [], [], [], new CacheSettings(true, 3600, false), true, new BudgetLimits(1m, 10m)));
        await AssertRefusedAsync(HttpMethod.Put, "admin/tenants/budgeted-config/budget", """{"daily_usd":100}""", HttpStatusCode.Conflict, null);
        Assert.Equal(new BudgetLimits(1m, 10m), (await Tenant("budgeted-config").GetSnapshotAsync()).Budget);
    }

    [Theory]
    [InlineData("POST", "admin/tenants")]
    [InlineData("PUT", "admin/tenants/alpha/budget")]
    [InlineData("POST", "admin/tenants/alpha/tokens")]
    [InlineData("POST", "admin/tenants/alpha/keys")]
    [InlineData("PUT", "admin/tenants/alpha/rules/m1")]
    public async Task Every_admin_body_is_capped_named_when_empty_and_never_echoed(string method, string path)
    {
        var verb = new HttpMethod(method);
        var (status, body) = await fixture.CallAsync(verb, path, Operator, $$"""{"name":"{{new string('x', 70 * 1024)}}"}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("request_too_large", body!["error"]!["code"]!.GetValue<string>());

        (status, body) = await fixture.CallAsync(verb, path, Operator, "");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("The request body is empty; send a JSON object.", body!["error"]!["message"]!.GetValue<string>());

        (status, body) = await fixture.CallAsync(verb, path, Operator, """{"daily_usd":["sk-echo-me-0123456789"],"id":["sk-echo-me-0123456789"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.NotNull(body!["error"]!["param"]);
        Assert.DoesNotContain("sk-echo-me", body.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_tenant_and_token_route_is_in_the_openapi_document_with_examples()
    {
        var (status, document) = await fixture.CallAsync(HttpMethod.Get, "openapi/v1.json", null);
        Assert.Equal(HttpStatusCode.OK, status);
        var operations = document!["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => o.Value!))
            .Where(o => o["operationId"] is not null)
            .ToDictionary(o => o["operationId"]!.GetValue<string>());
        foreach (var name in new[] { "ListTenants", "CreateTenant", "DeleteTenant", "SetTenantBudget", "ListTokens", "IssueToken", "RevokeToken" })
        {
            var operation = operations[name];
            Assert.False(string.IsNullOrEmpty(operation["summary"]?.GetValue<string>()), name);
            Assert.False(string.IsNullOrEmpty(operation["description"]?.GetValue<string>()), name);
            var examples = operation["responses"]!.AsObject().Count(r => r.Value?["content"]?["application/json"]?["example"] is not null);
            Assert.True(examples > 0, $"{name} has no response example");
        }

        foreach (var name in new[] { "CreateTenant", "SetTenantBudget", "IssueToken" })
        {
            Assert.NotNull(operations[name]["requestBody"]?["content"]?["application/json"]?["example"]);
        }

        Assert.NotNull(operations["IssueToken"]["responses"]!["201"]!["content"]!["application/json"]!["example"]!["token"]);
    }

    private async Task AssertRefusedAsync(HttpMethod method, string path, string? json, HttpStatusCode expected, string? param, string? says = null)
    {
        var (status, body) = await fixture.CallAsync(method, path, Operator, json);
        Assert.True(expected == status, $"{method} {path} {json}: expected {(int)expected}, got {(int)status} {body}");
        var error = body!["error"]!;
        Assert.Equal(param, error["param"]?.GetValue<string>());
        if (says is not null)
        {
            Assert.Contains(says, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    private async Task<long> CacheRowsAsync(string tenant)
    {
        await using var connection = new NpgsqlConnection(fixture.Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM roxy_prompt_cache WHERE tenant_id = @tenant", connection);
        command.Parameters.AddWithValue("tenant", tenant);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
