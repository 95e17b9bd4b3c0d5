using System.Buffers;
using System.IO.Pipelines;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;

namespace Roxy.Api.Inbound.OpenAi;

/// <summary>
/// The client side of <c>POST /v1/chat/completions</c>: an OpenAI answer is written as received, one from another
/// protocol is encoded as OpenAI chunks or a <c>chat.completion</c>.
/// </summary>
public sealed class OpenAiChatSink(ProxyRequest request, TimeProvider time) : IClientSink
{
    private OpenAiChunkEncoder? _encoder;

    public WireProtocol Protocol => WireProtocol.OpenAiChat;

    public void Commit(HttpResponseMessage? upstream, RouteTarget target, string? keyId, bool stream) =>
        ResponseCommitter.Commit(request, upstream, target, keyId, stream);

    public void WriteRaw(in ReadOnlySequence<byte> sseEvent)
    {
        var writer = request.Http.Response.BodyWriter;
        foreach (var segment in sseEvent)
        {
            writer.Write(segment.Span);
        }
    }

    public void WriteEvent(in ChatEvent chatEvent)
    {
        _encoder ??= new OpenAiChunkEncoder("chatcmpl-" + request.RequestId, time.GetUtcNow().ToUnixTimeSeconds(), request.Info!.ClientWantsUsage);
        _encoder.Write(chatEvent, request.Http.Response.BodyWriter);
    }

    // No state machine of its own: this runs once per burst of every stream.
    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => request.Http.Response.BodyWriter.FlushAsync(cancellationToken);

    public ValueTask WriteBodyAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        request.Http.Response.ContentLength = body.Length;
        return request.Http.Response.Body.WriteAsync(body, cancellationToken);
    }

    public async ValueTask WriteCompletionAsync(ChatCompletion completion, CancellationToken cancellationToken)
    {
        using var body = new PooledBuffer(4096);
        OpenAiCompletionEncoder.Write(completion, time.GetUtcNow().ToUnixTimeSeconds(), body);
        request.Http.Response.ContentType = "application/json";
        await WriteBodyAsync(body.Memory, cancellationToken);
    }

    // A passed-through stream carried its own [DONE]; only an encoded one needs closing.
    public void Complete() => _encoder?.Complete(request.Http.Response.BodyWriter);
}
