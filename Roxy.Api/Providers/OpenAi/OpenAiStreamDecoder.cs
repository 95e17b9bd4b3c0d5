using Roxy.Api.Protocols;

namespace Roxy.Api.Providers.OpenAi;

/// <summary>
/// Reads an OpenAI-compatible stream for the relay: what each event is and the usage it reports. It emits no events:
/// for an OpenAI client the bytes pass through as they are.
/// </summary>
public sealed class OpenAiStreamDecoder : IStreamDecoder
{
    public TokenUsage Usage { get; private set; }

    public bool UsageKnown { get; private set; }

    public UpstreamEventKind Decode(ReadOnlySpan<byte> sseEvent, List<ChatEvent>? events)
    {
        var kind = SseEvent.Inspect(sseEvent, out var prompt, out var completion);
        if (prompt > 0 || completion > 0)
        {
            Usage = new TokenUsage(prompt, completion);
            UsageKnown = true;
        }

        return kind switch
        {
            SseEvent.Kind.Content => UpstreamEventKind.Content,
            SseEvent.Kind.Done => UpstreamEventKind.Done,
            SseEvent.Kind.Error => UpstreamEventKind.Error,
            SseEvent.Kind.UsageOnly => UpstreamEventKind.UsageOnly,
            _ => UpstreamEventKind.Empty,
        };
    }
}
