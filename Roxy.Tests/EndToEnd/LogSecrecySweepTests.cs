using System.ClientModel;
using System.Net;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Core;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Every feature's traffic through one Roxy, then every log entry it wrote (every category, every level, scopes
/// included) searched for every secret and every prompt the traffic carried: none may appear (SPEC §9). Each request
/// must have its line, so the search cannot pass on an empty log. What reads the traffic back (<c>#roxy why</c>,
/// <c>GET /admin/requests/{id}</c> for the tenant's admin and the operator, a <c>/metrics</c> scrape) is searched too.
/// </summary>
public sealed class LogSecrecySweepTests(LogSweepFixture f) : IClassFixture<LogSweepFixture>
{
    private readonly List<string> _prompts = [];
    private readonly List<string> _requestIds = [];

    [Fact]
    public async Task No_secret_and_no_prompt_reaches_any_log_line_trace_or_metric()
    {
        // Requests whose traces are read back at the end: (request id, tenant, that tenant's admin token).
        var traced = new List<(string Id, string Tenant, string Admin)>();

        // Chat, plain and streamed (the official SDK), failing over from the 429 and the 401 key until both were tried.
        for (var i = 0; i < 40 && (f.OpenAi.CountFor(LogSweepFixture.RateLimitedKey) == 0 || f.OpenAi.CountFor(LogSweepFixture.RevokedKey) == 0); i++)
        {
            using var response = await PostAsync("v1/chat/completions", LogSweepFixture.AdminToken, Chat("smart", Prompt($"chat-failover-{i}")));
            await ExpectAsync(HttpStatusCode.OK, response);
            traced.Add((RequestId(response), "default", LogSweepFixture.AdminToken));
        }

        Assert.True(f.OpenAi.CountFor(LogSweepFixture.RateLimitedKey) > 0 && f.OpenAi.CountFor(LogSweepFixture.RevokedKey) > 0, "both failing keys were tried");
        var chat = new ChatClient("smart", new ApiKeyCredential(LogSweepFixture.AdminToken), new OpenAIClientOptions { Endpoint = f.Roxy.V1 });
        var plain = await chat.CompleteChatAsync([new UserChatMessage(Prompt("sdk-chat"))]);
        Assert.NotEmpty(plain.Value.Content);
        var streamed = 0;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(Prompt("sdk-chat-streamed"))]))
        {
            streamed += update.ContentUpdate.Count;
        }

        Assert.True(streamed > 0, "the stream carried content");
        await ExpectAsync(HttpStatusCode.OK, await PostAsync("v1/chat/completions", LogSweepFixture.AdminToken, Chat("smart", Prompt("chat-streamed"), stream: true)));

        // Anthropic Messages, plain (the official SDK) and streamed, to the Anthropic upstream: its 401 key is tried.
        var anthropic = new AnthropicClient(new ClientOptions { BaseUrl = f.Roxy.BaseUrl.ToString(), ApiKey = LogSweepFixture.AdminToken, MaxRetries = 0 });
        for (var i = 0; i < 20 && f.Anthropic.CountFor(LogSweepFixture.AnthropicRevokedKey) == 0; i++)
        {
            var message = await anthropic.Messages.Create(new MessageCreateParams { Model = "claude", MaxTokens = 64, Messages = [new UserMessageParam(Prompt($"anthropic-{i}"))] });
            Assert.NotEmpty(message.Content);
        }

        Assert.True(f.Anthropic.CountFor(LogSweepFixture.AnthropicRevokedKey) > 0, "the Anthropic 401 key was tried");
        await ExpectAsync(HttpStatusCode.OK, await PostAsync("v1/messages", LogSweepFixture.AdminToken,
            Messages("claude", Prompt("anthropic-streamed"), stream: true)));
        using (var translated = await PostAsync("v1/messages", LogSweepFixture.AdminToken, Messages("smart", Prompt("anthropic-translated"), stream: false)))
        {
            await ExpectAsync(HttpStatusCode.OK, translated);
            traced.Add((RequestId(translated), "default", LogSweepFixture.AdminToken));
        }

        // Embeddings, by the SDK and over HTTP.
        var embeddings = new EmbeddingClient("embed", new ApiKeyCredential(LogSweepFixture.AdminToken), new OpenAIClientOptions { Endpoint = f.Roxy.V1 });
        Assert.NotEmpty((await embeddings.GenerateEmbeddingAsync(Prompt("sdk-embeddings"))).Value.ToFloats().ToArray());
        await ExpectAsync(HttpStatusCode.OK, await PostAsync("v1/embeddings", LogSweepFixture.AdminToken,
            new JsonObject { ["model"] = "embed", ["input"] = Prompt("embeddings") }.ToJsonString()));

        // A prompt cache hit: the same request until it is answered from the cache.
        var cachedBody = Chat("gpt-4o-mini", Prompt("cached"));
        await Eventually.TrueAsync(async () =>
        {
            using var response = await PostAsync("v1/chat/completions", LogSweepFixture.CachedToken, cachedBody);
            await ExpectAsync(HttpStatusCode.OK, response);
            return response.Headers.GetValues("x-roxy-cache").Single() == "hit";
        }, because: "the repeated request was answered from the cache");

        // Commands: a key added by chat (its secret in the message), a typo carrying a secret, the status.
        var chatKey = "sk-sweep-chat-added-abcdefghijklmnop";
        Assert.Contains("Added key", await SayAsync(LogSweepFixture.AdminToken, $"#roxy add key openai {chatKey} rpm=60"), StringComparison.Ordinal);
        var typoKey = "sk-sweep-typo-abcdefghijklmnop";
        Assert.Contains("Unknown command", await SayAsync(LogSweepFixture.AdminToken, $"#roxy ad key openai {typoKey}"), StringComparison.Ordinal);
        Assert.Contains("default", await SayAsync(LogSweepFixture.AdminToken, "#roxy status"), StringComparison.Ordinal);

        // The admin API: a tenant, a token issued to it (the answer holds the token), a key added with its secret, a
        // request with the issued token through that key.
        await ExpectAsync(HttpStatusCode.Created, await PostAsync("admin/tenants", LogSweepFixture.Operator, """{"id":"issued"}"""));
        using var issue = await PostAsync("admin/tenants/issued/tokens", LogSweepFixture.Operator, """{"role":"admin","name":"sweep"}""");
        await ExpectAsync(HttpStatusCode.Created, issue);
        var issued = JsonNode.Parse(await issue.Content.ReadAsStringAsync())!["token"]!.GetValue<string>();
        var adminKey = "sk-sweep-admin-added-abcdefghijklmnop";
        await ExpectAsync(HttpStatusCode.Created, await PostAsync("admin/tenants/issued/keys", issued, $$"""{"provider":"openai","key":"{{adminKey}}"}"""));
        using (var byIssued = await PostAsync("v1/chat/completions", issued, Chat("gpt-4o-mini", Prompt("issued-token"))))
        {
            await ExpectAsync(HttpStatusCode.OK, byIssued);
            traced.Add((RequestId(byIssued), "issued", issued));
        }

        Assert.Equal(1, f.OpenAi.CountFor(adminKey));

        // Refusals: a budget, an unknown token, a body that is not JSON, a model that does not exist.
        await ExpectAsync(HttpStatusCode.TooManyRequests, await PostAsync("v1/chat/completions", LogSweepFixture.BrokeToken, Chat("gpt-4o-mini", Prompt("budget"))));
        var unknownToken = "sk-sweep-unknown-token-abcdefghijklmnop";
        await ExpectAsync(HttpStatusCode.Unauthorized, await PostAsync("v1/chat/completions", unknownToken, Chat("smart", Prompt("unknown-token"))));
        await ExpectAsync(HttpStatusCode.BadRequest, await PostAsync("v1/chat/completions", LogSweepFixture.AdminToken, "{\"messages\": \"" + Prompt("not-json")));

        // Reading it back: each traced request by `#roxy why` and by the route (its tenant's admin, the operator naming
        // the tenant and not), then a /metrics scrape. Their answers are searched with the log.
        var answers = new List<string>();
        var upstreamStatuses = new HashSet<int>();
        foreach (var (id, tenant, admin) in traced)
        {
            var trace = await TraceAsync($"admin/requests/{id}", admin);
            answers.Add(trace.ToJsonString());
            foreach (var step in trace["steps"]!.AsArray())
            {
                if (step!["upstream_status"] is { } status)
                {
                    upstreamStatuses.Add(status.GetValue<int>());
                }
            }

            foreach (var path in new[] { $"admin/requests/{id}?tenant={tenant}", $"admin/requests/{id}" })
            {
                var seen = await TraceAsync(path, LogSweepFixture.Operator);
                Assert.True(JsonNode.DeepEquals(trace, seen), $"the tenant's admin saw {trace}, the operator ({path}) {seen}");
                answers.Add(seen.ToJsonString());
            }

            var why = await SayAsync(admin, $"#roxy why {id}");
            Assert.Contains($"**Request `{id}`**", why, StringComparison.Ordinal);
            answers.Add(why);
        }

        // The traces read back hold the refusals whose bodies quoted the key.
        Assert.Contains(429, upstreamStatuses);
        Assert.Contains(401, upstreamStatuses);
        using (var scrape = await f.Roxy.SendAsync(HttpMethod.Get, "metrics", null))
        {
            await ExpectAsync(HttpStatusCode.OK, scrape);
            var metrics = await scrape.Content.ReadAsStringAsync();
            Assert.Contains("roxy_requests_total", metrics, StringComparison.Ordinal);
            Assert.Contains("roxy_upstream_errors_total", metrics, StringComparison.Ordinal);
            answers.Add(metrics);
        }

        // Everything logged or answered is searched: provider keys, tenant tokens, the issued token, the operator token, the master key.
        string[] secrets =
        [
            .. f.Environment.Values.Select(v => v!), chatKey, typoKey, adminKey, issued, unknownToken,
        ];
        var log = f.All.Lines;
        Assert.True(log.Any(l => l.StartsWith("Debug", StringComparison.Ordinal) || l.StartsWith("Trace", StringComparison.Ordinal)), "debug entries are captured too");
        foreach (var id in _requestIds)
        {
            Assert.Single(log, l => l.Contains($": request {id} ", StringComparison.Ordinal) || l.Contains($": command {id} ", StringComparison.Ordinal));
        }

        foreach (var secret in secrets)
        {
            // The whole secret, and its tail: a mask that keeps too much would show it.
            var tail = secret[^12..];
            Assert.DoesNotContain(log, l => l.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(log, l => l.Contains(tail, StringComparison.Ordinal));
            Assert.DoesNotContain(answers, a => a.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(answers, a => a.Contains(tail, StringComparison.Ordinal));
        }

        foreach (var prompt in _prompts)
        {
            Assert.DoesNotContain(log, l => l.Contains(prompt, StringComparison.Ordinal));
            Assert.DoesNotContain(answers, a => a.Contains(prompt, StringComparison.Ordinal));
        }
    }

    /// <summary>A trace by the route (<paramref name="path"/>), once it is there: it is queued as the request ends, then sent.</summary>
    private async Task<JsonNode> TraceAsync(string path, string token)
    {
        JsonNode? trace = null;
        await Eventually.TrueAsync(async () =>
        {
            using var response = await f.Roxy.SendAsync(HttpMethod.Get, path, token);
            trace = response.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
            return trace is not null;
        }, because: $"GET {path} never found the trace");
        return trace!;
    }

    private static string RequestId(HttpResponseMessage response) => response.Headers.GetValues("x-request-id").Single();

    private string Prompt(string feature)
    {
        var prompt = $"sweep prompt {feature} 7f3a91";
        _prompts.Add(prompt);
        return prompt;
    }

    private static string Chat(string model, string prompt, bool stream = false) => new JsonObject
    {
        ["model"] = model,
        ["max_tokens"] = 20,
        ["stream"] = stream,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
    }.ToJsonString();

    private static string Messages(string model, string prompt, bool stream) => new JsonObject
    {
        ["model"] = model,
        ["max_tokens"] = 20,
        ["stream"] = stream,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
    }.ToJsonString();

    private async Task<string> SayAsync(string token, string text)
    {
        using var response = await PostAsync("v1/chat/completions", token,
            new JsonObject { ["model"] = "smart", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }) }.ToJsonString());
        await ExpectAsync(HttpStatusCode.OK, response);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!["content"]!.GetValue<string>();
    }

    // Proxied requests (not the admin API) are remembered, to find their log lines.
    private async Task<HttpResponseMessage> PostAsync(string path, string token, string json)
    {
        var response = await f.Roxy.SendAsync(HttpMethod.Post, path, token, json);
        if (path.StartsWith("v1/", StringComparison.Ordinal))
        {
            _requestIds.Add(response.Headers.GetValues("x-request-id").Single());
        }

        return response;
    }

    private static async Task ExpectAsync(HttpStatusCode status, HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {body}");
    }
}
