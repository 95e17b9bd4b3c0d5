using System.ClientModel;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>The proxy path through real HTTP: the official OpenAI SDK → Roxy → fake OpenAI upstream.</summary>
public sealed class ChatCompletionsTests : IClassFixture<ProxyFixture>
{
    private readonly ProxyFixture _f;

    public ChatCompletionsTests(ProxyFixture fixture)
    {
        _f = fixture;
        _f.Upstream.Reset();
    }

    [Fact]
    public async Task Sdk_non_streaming_completion_is_answered_through_roxy()
    {
        var chat = _f.Roxy.Chat("gpt-4o-mini", ProxyFixture.AdminToken);
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Say hello")]);

        Assert.Equal("Hello from the fake upstream", completion.Content[0].Text);
        Assert.Equal("gpt-4o-mini", completion.Model);
        Assert.True(completion.Usage.InputTokenCount > 0);
        var upstream = Assert.Single(_f.Upstream.Requests);
        Assert.Contains(upstream.ApiKey, new[] { _f.Environment["KEY_A"], _f.Environment["KEY_B"] });
    }

    [Fact]
    public async Task Sdk_streaming_completion_arrives_chunk_by_chunk()
    {
        var chat = _f.Roxy.Chat("gpt-4o-mini", ProxyFixture.MemberToken);
        var parts = new List<string>();
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Say hello")]))
        {
            parts.AddRange(update.ContentUpdate.Select(p => p.Text));
            usage ??= update.Usage;
        }

        Assert.Equal("Hello from the fake upstream", string.Concat(parts));
        Assert.True(parts.Count >= 5, "each upstream chunk reaches the client as its own update");
        // The SDK asks for usage itself, so the usage chunk is the client's and must arrive.
        Assert.NotNull(usage);
    }

    [Fact]
    public async Task Usage_chunk_roxy_asked_for_is_stripped_when_the_client_did_not_ask()
    {
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken,
            """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var upstreamBody = JsonNode.Parse(Assert.Single(_f.Upstream.Requests).Body)!;
        Assert.True(upstreamBody["stream_options"]!["include_usage"]!.GetValue<bool>(), "Roxy asks the provider for usage");
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        Assert.DoesNotContain(events, e => e.Contains("\"choices\":[]", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Contains("Hello", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Body_reaches_the_provider_unchanged_except_model()
    {
        const string body = """
            {"model":"smart","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],
             "temperature":0,"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}],
             "response_format":{"type":"json_object"},"x_unknown_field":{"nested":[1,2.5,"three",null,true]},"seed":7}
            """;
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var sent = JsonNode.Parse(body)!.AsObject();
        sent["model"] = "gpt-4o-mini";
        var received = JsonNode.Parse(Assert.Single(_f.Upstream.Requests).Body);
        Assert.True(JsonNode.DeepEquals(sent, received), $"upstream got {received}");
        Assert.Equal("gpt-4o-mini", response.Headers.GetValues("x-roxy-model").Single());

        // One structured line per request, with ids and numbers but no prompt text.
        var requestId = response.Headers.GetValues("x-request-id").Single();
        var line = Assert.Single(_f.Roxy.Logs.Lines, l => l.Contains($"request {requestId} ", StringComparison.Ordinal));
        Assert.Contains("model=smart answered_by=gpt-4o-mini provider=openai", line, StringComparison.Ordinal);
        Assert.Contains("status=200", line, StringComparison.Ordinal);
        Assert.DoesNotContain(_f.Roxy.Logs.Lines, l => l.Contains("what is this?", StringComparison.Ordinal) || l.Contains("be brief", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Client_headers_do_not_leak_upstream()
    {
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken,
            """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""",
            r =>
            {
                r.Headers.TryAddWithoutValidation("Cookie", "session=secret-cookie");
                r.Headers.TryAddWithoutValidation("X-Custom-Client", "leak-me");
                r.Headers.TryAddWithoutValidation("OpenAI-Organization", "org-client");
            });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var upstream = Assert.Single(_f.Upstream.Requests);
        Assert.Equal("Bearer " + upstream.ApiKey, upstream.Headers["Authorization"]);
        Assert.NotEqual(ProxyFixture.AdminToken, upstream.ApiKey);
        Assert.False(upstream.Headers.ContainsKey("Cookie"));
        Assert.False(upstream.Headers.ContainsKey("X-Custom-Client"));
        Assert.False(upstream.Headers.ContainsKey("OpenAI-Organization"));
    }

    [Fact]
    public async Task Response_headers_come_from_the_allowlist_plus_roxy_headers()
    {
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken,
            """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("openai-organization"));
        Assert.False(response.Headers.Contains("openai-version"));
        Assert.True(response.Headers.Contains("x-ratelimit-remaining-requests"));
        Assert.True(response.Headers.Contains("x-upstream-request-id"));
        Assert.StartsWith("req_", response.Headers.GetValues("x-request-id").Single(), StringComparison.Ordinal);
        Assert.Equal("openai", response.Headers.GetValues("x-roxy-provider").Single());
        Assert.Matches("^k-[0-9a-f]{10}$", response.Headers.GetValues("x-roxy-key").Single());
        Assert.Equal("bypass", response.Headers.GetValues("x-roxy-cache").Single());
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(_f.Environment["KEY_A"]!, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Any_openai_compatible_provider_works_by_config_alone()
    {
        var chat = _f.Roxy.Chat("custom-model", ProxyFixture.AdminToken);
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("llama-3-70b", completion.Model);
        Assert.Equal(_f.Environment["KEY_C"], Assert.Single(_f.Upstream.Requests).ApiKey);
    }

    [Fact]
    public async Task Models_lists_what_the_tenant_may_ask_for()
    {
        var response = await _f.Roxy.SendAsync(HttpMethod.Get, "v1/models", ProxyFixture.StrictToken);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("list", json.RootElement.GetProperty("object").GetString());
        var ids = json.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToArray();
        Assert.Equal(["fast", "gpt-4o-mini"], ids);
        // OpenAI's field names, as its SDKs read them.
        Assert.All(json.RootElement.GetProperty("data").EnumerateArray(), m => Assert.Equal(JsonValueKind.String, m.GetProperty("owned_by").ValueKind));
    }

    [Fact]
    public async Task Sdk_reads_the_model_list_with_owners()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential(ProxyFixture.StrictToken), new OpenAIClientOptions { Endpoint = _f.Roxy.V1 });

        OpenAIModelCollection models = await client.GetModelsAsync();

        Assert.Equal([("fast", "roxy"), ("gpt-4o-mini", "openai")], models.Select(m => (m.Id, m.OwnedBy)));
    }

    [Fact]
    public async Task OpenApi_document_names_fields_as_the_wire_does()
    {
        var document = await (await _f.Roxy.SendAsync(HttpMethod.Get, "openapi/v1.json", null)).Content.ReadAsStringAsync();

        Assert.Contains("\"owned_by\"", document, StringComparison.Ordinal);
        Assert.DoesNotContain("\"ownedBy\"", document, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unlisted_model_is_404_for_a_tenant_that_does_not_allow_them()
    {
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.StrictToken,
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");
        var error = await ErrorAsync(response);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Empty(_f.Upstream.Requests);

        var allowed = await _f.Roxy.PostChatAsync(ProxyFixture.StrictToken,
            """{"model":"fast","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    internal static async Task<JsonElement> ErrorAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _));
        return error.Clone();
    }
}
