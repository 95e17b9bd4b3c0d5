using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using Roxy.Api.Administration;
using Roxy.Api.Tracing;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// <c>#roxy why</c> and <c>GET /admin/requests/{id}</c> (SPEC §9): the same trace by chat and by the API, tenant-isolated,
/// admins and the operator only, and never a prompt or a secret.
/// </summary>
public sealed class RequestTraceTests : IClassFixture<TraceFixture>
{
    private readonly TraceFixture _f;

    public RequestTraceTests(TraceFixture fixture)
    {
        _f = fixture;
        _f.Upstream.Reset();
    }

    [Fact]
    public async Task A_request_that_failed_over_shows_both_keys_the_429_and_the_cooldown()
    {
        var keyIds = await KeyIdsBySecretAsync("alpha");
        _f.Upstream.Enqueue(FakeResponse.RateLimited(retryAfterSeconds: 40));
        var result = await _f.Roxy.Chat("smart", TraceFixture.AlphaAdmin).CompleteChatAsync([new UserChatMessage("hello")]);
        Assert.Equal("gpt-4o-mini", result.Value.Model);
        var id = RequestId(result.GetRawResponse());
        var limited = keyIds[_f.Upstream.Requests[0].ApiKey!];
        var answered = keyIds[_f.Upstream.Requests[1].ApiKey!];
        Assert.NotEqual(limited, answered);

        var trace = await TraceAsync(id, TraceFixture.AlphaAdmin);
        Assert.Equal(id, trace["request_id"]!.GetValue<string>());
        Assert.Equal("alpha", trace["tenant"]!.GetValue<string>());
        Assert.Equal("smart", trace["requested_model"]!.GetValue<string>());
        Assert.Equal("smart", trace["rule"]!.GetValue<string>());
        Assert.Equal("openai-chat", trace["protocol"]!.GetValue<string>());
        Assert.Equal(200, trace["status"]!.GetValue<int>());
        Assert.Equal("bypass", trace["cache"]!.GetValue<string>());
        Assert.Equal(answered, trace["key_id"]!.GetValue<string>());
        Assert.True(trace["prompt_tokens"]!.GetValue<long>() > 0);
        Assert.True(trace["completion_tokens"]!.GetValue<long>() > 0);
        Assert.True(trace["latency_ms"]!.GetValue<double>() > 0);

        var attempts = trace["steps"]!.AsArray().Where(s => s!["kind"]!.GetValue<string>() == "attempt").ToArray();
        Assert.Equal(2, attempts.Length);
        Assert.Equal(limited, attempts[0]!["key_id"]!.GetValue<string>());
        Assert.Equal(429, attempts[0]!["upstream_status"]!.GetValue<int>());
        Assert.Equal("rate_limited", attempts[0]!["outcome"]!.GetValue<string>());
        // The longer of the key's 30 s cooldown and the provider's Retry-After.
        Assert.Equal(40, attempts[0]!["retry_after_sec"]!.GetValue<double>());
        Assert.StartsWith("cooling until ", attempts[0]!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(answered, attempts[1]!["key_id"]!.GetValue<string>());
        Assert.Equal(200, attempts[1]!["upstream_status"]!.GetValue<int>());
        Assert.Equal("success", attempts[1]!["outcome"]!.GetValue<string>());

        // The chat says the same facts.
        var why = await SayAsync(TraceFixture.AlphaAdmin, $"#roxy why {id}");
        Assert.Contains($"key `{limited}`: 429 rate limited", why, StringComparison.Ordinal);
        Assert.Contains(attempts[0]!["detail"]!.GetValue<string>(), why, StringComparison.Ordinal);
        Assert.Contains("cooldown 40 s", why, StringComparison.Ordinal);
        Assert.Contains($"key `{answered}`: 200 success", why, StringComparison.Ordinal);
        Assert.Contains("- rule: `smart`", why, StringComparison.Ordinal);
        Assert.Contains("- cache: bypass", why, StringComparison.Ordinal);
        Assert.Contains($"**Tokens** {trace["prompt_tokens"]} in", why, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_tenants_admin_finds_nothing_by_chat_or_by_the_route()
    {
        var id = await SendAsync(TraceFixture.AlphaAdmin, "alpha's question");
        await TraceAsync(id, TraceFixture.AlphaAdmin);

        var chat = await SayAsync(TraceFixture.BetaAdmin, $"#roxy why {id}");
        Assert.Contains("There is no recent request", chat, StringComparison.Ordinal);
        Assert.DoesNotContain("smart", chat, StringComparison.Ordinal);

        foreach (var path in new[] { $"admin/requests/{id}", $"admin/requests/{id}?tenant=alpha" })
        {
            var (status, body) = await _f.CallAsync(HttpMethod.Get, path, TraceFixture.BetaAdmin);
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Equal("request_not_found", body!["error"]!["code"]!.GetValue<string>());
            Assert.DoesNotContain("smart", body.ToJsonString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_member_is_refused_by_chat_and_by_the_route()
    {
        var id = await SendAsync(TraceFixture.AlphaMember, "a member's question");

        var chat = await SayAsync(TraceFixture.AlphaMember, $"#roxy why {id}");
        Assert.Contains("`#roxy why` needs an admin token", chat, StringComparison.Ordinal);
        var (status, body) = await _f.CallAsync(HttpMethod.Get, $"admin/requests/{id}", TraceFixture.AlphaMember);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("admin_token_required", body!["error"]!["code"]!.GetValue<string>());

        // The request was traced all the same: its tenant's admin sees it, with the member's token id.
        var trace = await TraceAsync(id, TraceFixture.AlphaAdmin);
        Assert.StartsWith("t-", trace["token_id"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_operator_sees_what_the_tenants_admin_sees_with_or_without_naming_the_tenant()
    {
        var id = await SendAsync(TraceFixture.BetaAdmin, "beta's question", model: "gpt-4o-mini");
        var admin = await TraceAsync(id, TraceFixture.BetaAdmin);

        // The admin may have read it from the frontend's queue; the one-way batch reaches the grain a moment later.
        var trace = await TraceAsync(id, TraceFixture.Operator, "?tenant=beta");
        Assert.True(JsonNode.DeepEquals(admin, trace), $"admin saw {admin}, operator {trace}");
        Assert.Null(trace["rule"]);
        Assert.Equal("openai", trace["provider"]!.GetValue<string>());

        // Without ?tenant= every tenant is searched.
        var found = await TraceAsync(id, TraceFixture.Operator);
        Assert.True(JsonNode.DeepEquals(admin, found), $"admin saw {admin}, operator's search {found}");

        var (unknown, body) = await _f.CallAsync(HttpMethod.Get, $"admin/requests/{id}?tenant=nosuch", TraceFixture.Operator);
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Equal("tenant_not_found", body!["error"]!["code"]!.GetValue<string>());

        // Found in beta only: the operator asking alpha for it finds nothing.
        var (elsewhere, _) = await _f.CallAsync(HttpMethod.Get, $"admin/requests/{id}?tenant=alpha", TraceFixture.Operator);
        Assert.Equal(HttpStatusCode.NotFound, elsewhere);
    }

    [Fact]
    public async Task The_operators_search_finds_a_request_among_more_tenants_than_it_asks_at_once()
    {
        // Empty tenants, more than one round of the search: none has the request.
        for (var i = 0; i < RequestAdministration.SearchConcurrency + 4; i++)
        {
            var (created, _) = await AdminFixture.CallAsync(_f.Roxy, HttpMethod.Post, "admin/tenants", TraceFixture.Operator, $$"""{"id":"trace-empty-{{i}}"}""");
            Assert.Equal(HttpStatusCode.Created, created);
        }

        var alpha = await SendAsync(TraceFixture.AlphaAdmin, "alpha's question for the operator");
        var beta = await SendAsync(TraceFixture.BetaAdmin, "beta's question for the operator", model: "gpt-4o-mini");
        var unsent = _f.Roxy.App.Services.GetRequiredService<UnsentTraces>();
        foreach (var (id, tenant, admin) in new[] { (alpha, "alpha", TraceFixture.AlphaAdmin), (beta, "beta", TraceFixture.BetaAdmin) })
        {
            var seen = await TraceAsync(id, admin);
            // Once sent, the frontend's own queue no longer has it: the search asks the tenants' trace grains.
            await Eventually.TrueAsync(() => Task.FromResult(unsent.Find(tenant, id) is null), because: $"request {id} was never sent to its trace grain");
            // The batch is one-way: the grain may take it a moment after it left the queue.
            var trace = await TraceAsync(id, TraceFixture.Operator);
            Assert.True(JsonNode.DeepEquals(seen, trace), $"{tenant}'s admin saw {seen}, the operator's search {trace}");
            Assert.Equal(tenant, trace["tenant"]!.GetValue<string>());
        }

        // An id no tenant has: 404, saying no tenant has it.
        var (missing, body) = await _f.CallAsync(HttpMethod.Get, "admin/requests/req_0123456789abcdef01234567", TraceFixture.Operator);
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("request_not_found", body!["error"]!["code"]!.GetValue<string>());
        Assert.StartsWith("No tenant has a recent request 'req_0123456789abcdef01234567'", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_the_rotation_passed_over_is_listed_as_disabled_or_cooling_by_the_route_and_by_chat()
    {
        var keyIds = await KeyIdsBySecretAsync("gamma");
        var first = keyIds[TraceFixture.GammaKey1];
        var second = keyIds[TraceFixture.GammaKey2];

        // Disabled by an admin: a request passes it over.
        Assert.Contains("is out of rotation", await SayAsync(TraceFixture.GammaAdmin, $"#roxy disable key {first}"), StringComparison.Ordinal);
        var id = await SendAsync(TraceFixture.GammaAdmin, "a question while a key is off", model: "gpt-4o-mini");
        Assert.Equal(TraceFixture.GammaKey2, Assert.Single(_f.Upstream.Requests).ApiKey);
        var trace = await TraceAsync(id, TraceFixture.GammaAdmin);
        var step = Assert.Single(trace["steps"]!.AsArray())!;
        Assert.Equal(second, step["key_id"]!.GetValue<string>());
        var disabled = Assert.Single(step["skipped"]!.AsArray())!;
        Assert.Equal(first, disabled["key_id"]!.GetValue<string>());
        Assert.Equal("disabled", disabled["reason"]!.GetValue<string>());
        Assert.Equal("admin", disabled["detail"]!.GetValue<string>());
        Assert.Equal("disabled: admin", disabled["summary"]!.GetValue<string>());
        Assert.Contains($"skipped key `{first}`: disabled: admin", await SayAsync(TraceFixture.GammaAdmin, $"#roxy why {id}"), StringComparison.Ordinal);

        // Back in rotation, then rate limited: the next request passes it over while it cools.
        Assert.Contains("is in rotation", await SayAsync(TraceFixture.GammaAdmin, $"#roxy enable key {first}"), StringComparison.Ordinal);
        _f.Upstream.Reset();
        _f.Upstream.Enqueue(FakeResponse.RateLimited(retryAfterSeconds: 40));
        var before = DateTimeOffset.UtcNow;
        await SendAsync(TraceFixture.GammaAdmin, "a question that meets a 429", model: "gpt-4o-mini");
        var next = await SendAsync(TraceFixture.GammaAdmin, "a question while a key cools", model: "gpt-4o-mini");
        var after = DateTimeOffset.UtcNow;
        Assert.Equal(3, _f.Upstream.Requests.Count);
        var limited = keyIds[_f.Upstream.Requests[0].ApiKey!];
        Assert.NotEqual(limited, keyIds[_f.Upstream.Requests[2].ApiKey!]);

        var cooled = await TraceAsync(next, TraceFixture.GammaAdmin);
        var answered = Assert.Single(cooled["steps"]!.AsArray())!;
        Assert.Equal(200, answered["upstream_status"]!.GetValue<int>());
        var cooling = Assert.Single(answered["skipped"]!.AsArray())!;
        Assert.Equal(limited, cooling["key_id"]!.GetValue<string>());
        Assert.Equal("cooling", cooling["reason"]!.GetValue<string>());
        // The provider's Retry-After (40 s) outlasts the key's 30 s cooldown; a second either side for the grain's clock.
        var until = cooling["until"]!.GetValue<DateTimeOffset>();
        Assert.InRange(until, before.AddSeconds(39), after.AddSeconds(41));
        var summary = string.Create(CultureInfo.InvariantCulture, $"cooling until {until.UtcDateTime:HH:mm:ss} UTC");
        Assert.Equal(summary, cooling["summary"]!.GetValue<string>());
        Assert.Contains($"skipped key `{limited}`: {summary}", await SayAsync(TraceFixture.GammaAdmin, $"#roxy why {next}"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("req_000000000000000000000000")]
    [InlineData("not-a-request-id")]
    [InlineData("req_ZZZZ")]
    public async Task An_unknown_id_is_404_in_openais_error_shape_and_a_clear_reply_by_chat(string id)
    {
        var (status, body) = await _f.CallAsync(HttpMethod.Get, $"admin/requests/{id}", TraceFixture.AlphaAdmin);
        Assert.Equal(HttpStatusCode.NotFound, status);
        var error = body!["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("request_not_found", error["code"]!.GetValue<string>());
        Assert.Equal("request_id", error["param"]!.GetValue<string>());
        Assert.Contains(id, error["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var chat = await SayAsync(TraceFixture.AlphaAdmin, $"#roxy why {id}");
        Assert.Contains($"There is no recent request '{id}'", chat, StringComparison.Ordinal);
        Assert.Contains("Usage: `#roxy why <request-id>`", chat, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Why_without_an_id_says_its_syntax()
    {
        var chat = await SayAsync(TraceFixture.AlphaAdmin, "#roxy why");
        Assert.Contains("Give one request id", chat, StringComparison.Ordinal);
        Assert.Contains("Usage: `#roxy why <request-id>`", chat, StringComparison.Ordinal);
        Assert.Contains("#roxy why <request-id>", await SayAsync(TraceFixture.AlphaMember, "#roxy help"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_streamed_request_is_traced_without_its_prompt_or_any_secret()
    {
        const string prompt = "the-violet-walrus-sings-at-midnight";
        const string system = "you-are-a-secretive-lighthouse-keeper";
        var json = new JsonObject
        {
            ["model"] = "smart",
            ["stream"] = true,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = system },
                new JsonObject { ["role"] = "user", ["content"] = prompt }),
        }.ToJsonString();
        using var response = await _f.Roxy.PostChatAsync(TraceFixture.AlphaAdmin, json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("data:", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var id = response.Headers.GetValues("x-request-id").Single();

        var trace = await TraceAsync(id, TraceFixture.AlphaAdmin);
        Assert.True(trace["stream"]!.GetValue<bool>());
        Assert.True(trace["first_byte_ms"]!.GetValue<double>() > 0);
        var why = await SayAsync(TraceFixture.AlphaAdmin, $"#roxy why {id}");
        Assert.Contains(", streamed", why, StringComparison.Ordinal);
        var (_, operatorView) = await _f.CallAsync(HttpMethod.Get, $"admin/requests/{id}?tenant=alpha", TraceFixture.Operator);

        foreach (var text in new[] { trace.ToJsonString(), why, operatorView!.ToJsonString() })
        {
            Assert.DoesNotContain(prompt, text, StringComparison.Ordinal);
            Assert.DoesNotContain(system, text, StringComparison.Ordinal);
            foreach (var secret in TraceFixture.Secrets)
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task The_route_is_in_the_openapi_document_with_examples()
    {
        var (status, document) = await _f.CallAsync(HttpMethod.Get, "openapi/v1.json", null);
        Assert.Equal(HttpStatusCode.OK, status);
        var operation = document!["paths"]!["/admin/requests/{requestId}"]!["get"]!;
        Assert.Equal("GetRequestTrace", operation["operationId"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(operation["description"]?.GetValue<string>()));
        var ok = operation["responses"]!["200"]!["content"]!["application/json"]!["example"]!;
        Assert.Equal(2, ok["steps"]!.AsArray().Count);
        Assert.Equal("request_not_found", operation["responses"]!["404"]!["content"]!["application/json"]!["example"]!["error"]!["code"]!.GetValue<string>());
    }

    /// <summary>The trace by the route, once the frontend has it (a flush is 250 ms).</summary>
    private async Task<JsonNode> TraceAsync(string id, string token, string query = "")
    {
        JsonNode? trace = null;
        await Eventually.TrueAsync(async () =>
        {
            var (status, body) = await _f.CallAsync(HttpMethod.Get, $"admin/requests/{id}{query}", token);
            trace = status == HttpStatusCode.OK ? body : null;
            return trace is not null;
        }, because: $"request {id} was never traced");
        return trace!;
    }

    private async Task<string> SendAsync(string token, string text, string model = "smart")
    {
        var result = await _f.Roxy.Chat(model, token).CompleteChatAsync([new UserChatMessage(text)]);
        return RequestId(result.GetRawResponse());
    }

    private async Task<string> SayAsync(string token, string text)
    {
        ChatCompletion reply = await _f.Roxy.Chat("smart", token).CompleteChatAsync([new UserChatMessage(text)]);
        return reply.Content[0].Text;
    }

    private static string RequestId(System.ClientModel.Primitives.PipelineResponse response) =>
        response.Headers.TryGetValue("x-request-id", out var id) ? id! : throw new InvalidOperationException("no x-request-id");

    /// <summary>The tenant's key ids by their secret, from the operator's key listing.</summary>
    private async Task<Dictionary<string, string>> KeyIdsBySecretAsync(string tenant)
    {
        var (status, body) = await _f.CallAsync(HttpMethod.Get, $"admin/tenants/{tenant}/keys", TraceFixture.Operator);
        Assert.Equal(HttpStatusCode.OK, status);
        return body!["data"]!.AsArray().ToDictionary(k => TraceFixture.KeysByVariable[k!["source_variable"]!.GetValue<string>()], k => k!["id"]!.GetValue<string>());
    }
}
