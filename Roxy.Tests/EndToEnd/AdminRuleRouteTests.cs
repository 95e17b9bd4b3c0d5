using System.Net;
using System.Text.Json.Nodes;

namespace Roxy.Tests.EndToEnd;

/// <summary>The rule routes of SPEC §4a over real HTTP, against the same operations as the <c>#roxy</c> model commands.</summary>
[Collection(AdminKeyRoutesGroup.Name)]
public sealed class AdminRuleRouteTests(AdminKeyRoutesFixture f)
{
    private const string Key = "sk-rules-tenant-key-0123456789";

    [Fact]
    public async Task A_rule_put_by_the_api_with_a_slash_in_its_source_routes_requests_and_is_listed_by_chat()
    {
        var token = AdminKeyRoutesFixture.Admin("rules");
        await AddKeyAsync("rules", token);

        var (created, body) = await f.CallAsync(HttpMethod.Put, "admin/tenants/rules/rules/acme/chat-1", token,
            """{"targets":["openai:gpt-4o-mini","openrouter:openai/gpt-4o"],"policy":"fallback"}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("acme/chat-1", body!["source"]!.GetValue<string>());
        Assert.Equal(["openai:gpt-4o-mini", "openrouter:openai/gpt-4o"], body["targets"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("runtime", body["owner"]!.GetValue<string>());

        f.Upstream.Reset();
        var routed = await f.ChatAsync(token, "acme/chat-1");
        Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
        Assert.Equal("gpt-4o-mini", routed.Headers.GetValues("x-roxy-model").Single());
        Assert.Equal("gpt-4o-mini", JsonNode.Parse(Assert.Single(f.Upstream.Requests).Body)!["model"]!.GetValue<string>());

        var listed = await f.SayAsync(token, "#roxy list models");
        Assert.Contains("| `acme/chat-1` | fallback | runtime | `openai:gpt-4o-mini`, `openrouter:openai/gpt-4o` | no |", listed, StringComparison.Ordinal);

        // Replaced: exactly the new targets and policy, 200; the same again changes nothing and is 200 too.
        var replace = """{"targets":["openai:gpt-4o"],"policy":"roundrobin","failover_on_context_length":true}""";
        var (replaced, replacedBody) = await f.CallAsync(HttpMethod.Put, "admin/tenants/rules/rules/acme/chat-1", token, replace);
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal("roundrobin", replacedBody!["policy"]!.GetValue<string>());
        Assert.True(replacedBody["failover_on_context_length"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.OK, (await f.CallAsync(HttpMethod.Put, "admin/tenants/rules/rules/acme/chat-1", token, replace)).Response.StatusCode);

        f.Upstream.Reset();
        Assert.Equal(HttpStatusCode.OK, (await f.ChatAsync(token, "acme/chat-1")).StatusCode);
        Assert.Equal("gpt-4o", JsonNode.Parse(Assert.Single(f.Upstream.Requests).Body)!["model"]!.GetValue<string>());

        var (list, listBody) = await f.CallAsync(HttpMethod.Get, "admin/tenants/rules/rules", AdminKeyRoutesFixture.OperatorToken);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var rules = listBody!["data"]!.AsArray();
        var house = rules.Single(r => r!["source"]!.GetValue<string>() == "house")!;
        Assert.Equal("config", house["owner"]!.GetValue<string>());
        var acme = rules.Single(r => r!["source"]!.GetValue<string>() == "acme/chat-1")!;
        Assert.Equal(["openai:gpt-4o"], acme["targets"]!.AsArray().Select(t => t!.GetValue<string>()));

        // Only the change was audited, once each, through the api.
        var (_, audit) = await f.CallAsync(HttpMethod.Get, "admin/tenants/rules/audit?limit=100", token);
        var puts = audit!["data"]!.AsArray().Where(e => e!["action"]!.GetValue<string>().StartsWith("put model acme/chat-1", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, puts.Length);
        Assert.All(puts, e => Assert.Equal("api", e!["channel"]!.GetValue<string>()));

        var (removed, _) = await f.CallAsync(HttpMethod.Delete, "admin/tenants/rules/rules/acme/chat-1", token);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.DoesNotContain("acme/chat-1", await f.SayAsync(token, "#roxy list models"), StringComparison.Ordinal);
        var (again, againBody) = await f.CallAsync(HttpMethod.Delete, "admin/tenants/rules/rules/acme/chat-1", token);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal("source", againBody!["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Config_owned_rules_are_409_to_put_and_delete()
    {
        var token = AdminKeyRoutesFixture.Admin("rules");
        var (put, putBody) = await f.CallAsync(HttpMethod.Put, "admin/tenants/rules/rules/house", token, """{"targets":["openai:gpt-4o"]}""");
        Assert.Equal(HttpStatusCode.Conflict, put.StatusCode);
        Assert.Equal("config_owned", putBody!["error"]!["code"]!.GetValue<string>());
        var (delete, _) = await f.CallAsync(HttpMethod.Delete, "admin/tenants/rules/rules/house", AdminKeyRoutesFixture.OperatorToken);
        Assert.Equal(HttpStatusCode.Conflict, delete.StatusCode);
        Assert.Contains("| `house` | fallback | config | `openai:gpt-4o-mini` |", await f.SayAsync(token, "#roxy list models"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rule_added_by_chat_is_listed_and_replaced_by_the_api()
    {
        var token = AdminKeyRoutesFixture.Admin("rulechat");
        Assert.Contains("✅", await f.SayAsync(token, "#roxy add model team-model openai:gpt-4o-mini random"), StringComparison.Ordinal);
        var (_, listBody) = await f.CallAsync(HttpMethod.Get, "admin/tenants/rulechat/rules", token);
        var rule = Assert.Single(listBody!["data"]!.AsArray())!;
        Assert.Equal("random", rule["policy"]!.GetValue<string>());

        var (replaced, _) = await f.CallAsync(HttpMethod.Put, "admin/tenants/rulechat/rules/team-model", token, """{"targets":["gpt-4o"]}""");
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Contains("| `team-model` | fallback | runtime | `gpt-4o` |", await f.SayAsync(token, "#roxy list models"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("m1", """{"targets":[]}""", "targets", "at least one target")]
    [InlineData("m1", """{"policy":"fallback"}""", "targets", "'targets' is required")]
    [InlineData("m1", """{"targets":["opnai:gpt-4o"]}""", "targets", "'opnai' is not a known provider (did you mean 'openai'?)")]
    [InlineData("m1", """{"targets":["openai:"]}""", "targets", "names provider 'openai' but no model")]
    [InlineData("m1", """{"targets":["gpt-4o","gpt-4o"]}""", "targets", "listed twice")]
    [InlineData("m1", """{"targets":["gpt-4o"],"policy":"fallbak"}""", "policy", "is not one of random, roundrobin, fallback")]
    [InlineData("m1", """{"targets":["gpt-4o"],"policy":3}""", "policy", "wrong type")]
    [InlineData("m1", """{"targets":"gpt-4o"}""", "targets", "wrong type")]
    [InlineData("m1", """{"targets":[null]}""", "targets", "'targets' is required")]
    [InlineData("m1", """{"targets":["gpt-4o"],"owner":"config"}""", "owner", "Unknown field 'owner'")]
    [InlineData("m1", """{"targets":["sk-proj-0123456789abcdefghijklmn"]}""", "targets", "looks like a provider key")]
    [InlineData("vectors", """{"targets":["openai:text-embedding-3-small","openai:text-embedding-3-large"]}""", "targets", "is an embedding rule")]
    [InlineData("m1", "", null, "")]
    public async Task Bad_rules_are_400_in_openai_shape_and_change_nothing(string source, string json, string? param, string message)
    {
        var token = AdminKeyRoutesFixture.Admin("rulechat");
        var (response, body) = await f.CallAsync(HttpMethod.Put, $"admin/tenants/rulechat/rules/{source}", token, json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, body!["error"]!["param"]?.GetValue<string>());
        Assert.Contains(message, body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("0123456789abcdefghijklmn", body.ToJsonString(), StringComparison.Ordinal);

        var (_, list) = await f.CallAsync(HttpMethod.Get, "admin/tenants/rulechat/rules", token);
        Assert.DoesNotContain(list!["data"]!.AsArray(), r => r!["source"]!.GetValue<string>() == source);
    }

    private async Task AddKeyAsync(string tenant, string token)
    {
        var (response, _) = await f.CallAsync(HttpMethod.Post, $"admin/tenants/{tenant}/keys", token, $$"""{"provider":"openai","key":"{{Key}}"}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var (router, _) = await f.CallAsync(HttpMethod.Post, $"admin/tenants/{tenant}/keys", token, """{"provider":"openrouter","key":"sk-or-rules-tenant-key-0123456789"}""");
        Assert.Equal(HttpStatusCode.Created, router.StatusCode);
    }
}
