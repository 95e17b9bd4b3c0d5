using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Inbound.OpenAi;
using Roxy.Api.Proxy;
using Roxy.Api.Tenancy;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Caching;

/// <summary>
/// A client request with the real sink of its protocol over a <see cref="DefaultHttpContext"/> whose response body is
/// captured, for the cache tests to write an answer to and read it back.
/// </summary>
internal sealed class ReplayClient : IDisposable
{
    public static readonly DateTimeOffset Now = new(2026, 12, 1, 15, 0, 0, TimeSpan.Zero);

    private readonly MemoryStream _body = new();
    private readonly PooledBuffer _requestBody = new(16);

    private ReplayClient(string requestId, Func<DefaultHttpContext, PooledBuffer, ProxyRequest> create)
    {
        Http.Response.Body = _body;
        RequestId = requestId;
        Request = create(Http, _requestBody);
    }

    public DefaultHttpContext Http { get; } = new();
    public string RequestId { get; }
    public ProxyRequest Request { get; }

    public static ReplayClient OpenAi(bool stream, bool includeUsage = false, string requestId = "req_00112233445566778899aabb")
    {
        var time = new FakeTimeProvider(Now);
        var client = new ReplayClient(requestId, (http, body) => new ProxyRequest(
            http, requestId, new TenantIdentity("acme", "token-1", TenantRole.Member), body,
            new ChatRequestInfo { Model = "gpt-4o", Stream = stream, ClientWantsUsage = includeUsage }));
        client.Request.Sink = new OpenAiChatSink(client.Request, time);
        return client;
    }

    public static ReplayClient Anthropic(bool stream, string requestId = "req_00112233445566778899aabb")
    {
        var client = new ReplayClient(requestId, (http, body) => new ProxyRequest(
            http, requestId, new TenantIdentity("acme", "token-1", TenantRole.Member), body,
            new MessagesRequestInfo { Model = "claude-sonnet-4-5", Stream = stream, MaxTokens = 1024 }));
        client.Request.PromptEstimate = 80;
        client.Request.Sink = new AnthropicMessagesSink(client.Request);
        return client;
    }

    public string Written => Encoding.UTF8.GetString(_body.ToArray());

    /// <summary>An OpenAI stream's <c>data:</c> payloads, checked to be SSE frames and to end with exactly one <c>[DONE]</c>.</summary>
    public List<JsonObject> OpenAiChunks()
    {
        var frames = Written.Split("\n\n");
        Assert.Equal("", frames[^1]);
        Assert.Equal("data: [DONE]", frames[^2]);
        var chunks = new List<JsonObject>();
        foreach (var frame in frames[..^2])
        {
            Assert.StartsWith("data: ", frame);
            Assert.DoesNotContain('\n', frame);
            chunks.Add(JsonNode.Parse(frame["data: ".Length..])!.AsObject());
        }

        return chunks;
    }

    public void Dispose()
    {
        _requestBody.Dispose();
        _body.Dispose();
    }
}
