using Roxy.Api.Protocols;

namespace Roxy.Api.Providers;

/// <summary>Reads one provider stream, event by event.</summary>
public interface IStreamDecoder
{
    /// <summary>
    /// Classifies one complete SSE event and appends what it says to <paramref name="events"/>. Null when the client
    /// speaks this protocol: the event's bytes pass through as they are, and only its kind and usage are read.
    /// </summary>
    UpstreamEventKind Decode(ReadOnlySpan<byte> sseEvent, List<ChatEvent>? events);

    /// <summary>The usage the stream reported so far (cumulative); <see cref="UsageKnown"/> once it said any.</summary>
    TokenUsage Usage { get; }

    bool UsageKnown { get; }
}
