using System.Buffers;
using System.IO.Pipelines;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;

namespace Roxy.Api.Inbound.OpenAi;

/// <summary>
/// The client side of <c>POST /v1/embeddings</c>: the provider's JSON answer, written as received. Embeddings go
/// only to providers that speak OpenAI's protocol and are never streamed, so there is nothing to encode.
/// </summary>
public sealed class OpenAiEmbeddingsSink(ProxyRequest request) : IClientSink
{
    public WireProtocol Protocol => WireProtocol.OpenAiChat;

    public void Commit(HttpResponseMessage? upstream, RouteTarget target, string? keyId, bool stream) =>
        ResponseCommitter.Commit(request, upstream, target, keyId, sse: false);

    public async ValueTask WriteBodyAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        request.Http.Response.ContentLength = body.Length;
        await request.Http.Response.Body.WriteAsync(body, cancellationToken);
    }

    public void WriteRaw(in ReadOnlySequence<byte> sseEvent) => throw NotStreamed();

    public void WriteEvent(in ChatEvent chatEvent) => throw NotStreamed();

    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => throw NotStreamed();

    public ValueTask WriteCompletionAsync(ChatCompletion completion, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("An embeddings answer is never decoded from another protocol.");

    public void Complete() => throw NotStreamed();

    private static InvalidOperationException NotStreamed() => new("Embeddings are never streamed.");
}
