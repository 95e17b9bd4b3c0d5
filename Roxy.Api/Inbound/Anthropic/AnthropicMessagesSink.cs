using System.Buffers;
using System.IO.Pipelines;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// The client side of <c>POST /v1/messages</c>: an Anthropic answer is written as received, one from another
/// protocol is encoded as Anthropic's named SSE events or a <c>message</c>.
/// </summary>
public sealed class AnthropicMessagesSink(ProxyRequest request, TimeProvider time) : IClientSink
{
    public WireProtocol Protocol => WireProtocol.AnthropicMessages;

    public TimeSpan? KeepAliveInterval => TimeSpan.FromSeconds(10);

    public void Commit(HttpResponseMessage upstream, RouteTarget target, string keyId, bool stream) =>
        ResponseCommitter.Commit(request, upstream, target, keyId, stream);

    public void WriteRaw(in ReadOnlySequence<byte> sseEvent)
    {
        var writer = request.Http.Response.BodyWriter;
        foreach (var segment in sseEvent)
        {
            writer.Write(segment.Span);
        }
    }

    public void WriteEvent(in ChatEvent chatEvent) => throw new NotImplementedException("issue 9: Anthropic SSE encoder");

    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => request.Http.Response.BodyWriter.FlushAsync(cancellationToken);

    public ValueTask WriteBodyAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        request.Http.Response.ContentLength = body.Length;
        return request.Http.Response.Body.WriteAsync(body, cancellationToken);
    }

    public ValueTask WriteCompletionAsync(ChatCompletion completion, CancellationToken cancellationToken) =>
        throw new NotImplementedException("issue 9: Anthropic message encoder " + time.GetUtcNow());

    public void Complete() => throw new NotImplementedException("issue 9: Anthropic SSE encoder");

    public void WriteKeepAlive() => request.Http.Response.BodyWriter.Write("event: ping\ndata: {\"type\": \"ping\"}\n\n"u8);
}
