using System.Text.Json;
using Roxy.Api.Proxy;
using static Roxy.Api.Inbound.Anthropic.MessagesRequestReader;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// Removes earlier <c>#roxy</c> turns from an Anthropic conversation before it goes upstream, as
/// <see cref="HistoryStripper"/> does for OpenAI's: every user turn that is a command and the assistant turn that
/// answered it. A secret typed into a chat never travels on. The rest of the body is copied byte for byte.
/// </summary>
public static class MessagesHistoryStripper
{
    /// <param name="body">A body <see cref="MessagesRequestReader"/> accepted.</param>
    public static PooledBuffer Strip(ReadOnlySpan<byte> body) => HistoryStripper.Strip(body, ReadMessage);

    // The reader's own rule: a user turn with any text block that is a command.
    private static HistoryStripper.Turn ReadMessage(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, int index)
    {
        MessagesRequestReader.ReadMessage(ref reader, index, out var role, out _, out var isCommand);
        return role switch
        {
            MessageRole.User => isCommand ? HistoryStripper.Turn.Command : HistoryStripper.Turn.User,
            MessageRole.Assistant => HistoryStripper.Turn.Assistant,
            _ => HistoryStripper.Turn.Aside,
        };
    }
}
