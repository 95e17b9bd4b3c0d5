using System.Buffers;
using System.IO.Pipelines;
using Roxy.Api.Protocols;
using Roxy.Api.Routing;

namespace Roxy.Api.Inbound;

/// <summary>
/// Where an answer goes: the client's response, in the client's protocol. The upstream relays write to it and
/// nothing else, so what watches an answer (cache, usage, metrics) attaches here whatever the protocols are.
/// </summary>
public interface IClientSink
{
    WireProtocol Protocol { get; }

    /// <summary>Starts the client response (status and headers). After this no other key or target can be tried.</summary>
    /// <param name="upstream">The provider's response; null for an answer replayed from the prompt cache.</param>
    /// <param name="keyId">The key that answered; null for a cached answer.</param>
    void Commit(HttpResponseMessage? upstream, RouteTarget target, string? keyId, bool stream);

    /// <summary>A stream event in the client's own protocol: written as it is.</summary>
    void WriteRaw(in ReadOnlySequence<byte> sseEvent);

    /// <summary>A decoded stream event, encoded for the client.</summary>
    void WriteEvent(in ChatEvent chatEvent);

    /// <summary>Sends what was written since the last flush (canceled or completed: the client is gone).</summary>
    ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken);

    /// <summary>A whole answer in the client's own protocol.</summary>
    ValueTask WriteBodyAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken);

    /// <summary>A whole answer decoded from another protocol, encoded for the client.</summary>
    ValueTask WriteCompletionAsync(ChatCompletion completion, CancellationToken cancellationToken);

    /// <summary>The stream ended well: whatever the client's protocol closes a stream with (usage, <c>[DONE]</c>).</summary>
    void Complete();

    /// <summary>
    /// Whether every client of this protocol raises on a stream's error event (Anthropic's SDKs do), so the stream can
    /// end cleanly after it; otherwise (OpenAI's .NET SDK ignores error events) the connection is cut as well.
    /// </summary>
    bool ClientsRaiseOnErrorEvent => false;

    /// <summary>How long a committed stream may stay silent before <see cref="WriteKeepAlive"/>; null: never.</summary>
    TimeSpan? KeepAliveInterval => null;

    /// <summary>A keep-alive event in the client's protocol (Anthropic's <c>ping</c>), between whole events.</summary>
    void WriteKeepAlive()
    {
    }
}
