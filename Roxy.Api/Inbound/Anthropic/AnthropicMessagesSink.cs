using System.Buffers;
using System.IO.Pipelines;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// The client side of <c>POST /v1/messages</c>: an Anthropic answer is written as received, one from another
/// protocol is encoded as Anthropic's named SSE events (<see cref="AnthropicStreamEncoder"/>) or a <c>message</c>
/// (<see cref="AnthropicMessageEncoder"/>), with the message id made from the request id.
/// </summary>
public sealed class AnthropicMessagesSink(ProxyRequest request) : IClientSink
{
    private AnthropicStreamEncoder? _encoder;
    private bool _passedThrough;

    public WireProtocol Protocol => WireProtocol.AnthropicMessages;

    public TimeSpan? KeepAliveInterval => TimeSpan.FromSeconds(10);

    public bool ClientsRaiseOnErrorEvent => true;

    public void Commit(HttpResponseMessage? upstream, RouteTarget target, string? keyId, bool stream) =>
        ResponseCommitter.Commit(request, upstream, target, keyId, stream);

    public void WriteRaw(in ReadOnlySequence<byte> sseEvent)
    {
        _passedThrough = true;
        var writer = request.Http.Response.BodyWriter;
        foreach (var segment in sseEvent)
        {
            writer.Write(segment.Span);
        }
    }

    public void WriteEvent(in ChatEvent chatEvent)
    {
        if (!_passedThrough)
        {
            Encoder().Write(chatEvent, request.Http.Response.BodyWriter);
        }
        else if (chatEvent.Kind == ChatEventKind.Error)
        {
            // A passed-through stream that failed (one cut before its message_stop): the client already has its
            // message_start, so the error is Anthropic's own event, not the start of an encoded second message (nor
            // is anything else Roxy might say about a stream the provider wrote).
            var writer = request.Http.Response.BodyWriter;
            writer.Write("event: error\ndata: "u8);
            AnthropicErrors.Write(writer, AnthropicErrors.TypeForOpenAiType(chatEvent.ErrorType), chatEvent.Text ?? "The provider failed while answering.", requestId: null);
            writer.Write("\n\n"u8);
        }
    }

    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => request.Http.Response.BodyWriter.FlushAsync(cancellationToken);

    public ValueTask WriteBodyAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        request.Http.Response.ContentLength = body.Length;
        return request.Http.Response.Body.WriteAsync(body, cancellationToken);
    }

    public async ValueTask WriteCompletionAsync(ChatCompletion completion, CancellationToken cancellationToken)
    {
        using var body = new PooledBuffer(4096);
        AnthropicMessageEncoder.Write(completion, AnthropicMessageEncoder.MessageId(request.RequestId), request.Model, InputEstimate, body);
        request.Http.Response.ContentType = "application/json";
        await WriteBodyAsync(body.Memory, cancellationToken);
    }

    // A passed-through stream carried its own message_stop. A translated one is closed even when the provider's
    // stream said nothing before its end marker: an empty message is still a whole one.
    public void Complete()
    {
        if (!_passedThrough)
        {
            Encoder().Complete(request.Http.Response.BodyWriter);
        }
    }

    public void WriteKeepAlive() => request.Http.Response.BodyWriter.Write("event: ping\ndata: {\"type\": \"ping\"}\n\n"u8);

    // message_start must say a non-zero input count before the provider has said any: the prompt as Roxy counted it.
    private long InputEstimate => Math.Max(1, request.PromptEstimate);

    private AnthropicStreamEncoder Encoder() =>
        _encoder ??= new AnthropicStreamEncoder(AnthropicMessageEncoder.MessageId(request.RequestId), InputEstimate, request.Model);
}
