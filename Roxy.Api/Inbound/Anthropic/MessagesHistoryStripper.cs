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
    public static PooledBuffer Strip(ReadOnlySpan<byte> body)
    {
        var output = new PooledBuffer(body.Length);
        try
        {
            return StripInto(body, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    private static PooledBuffer StripInto(ReadOnlySpan<byte> body, PooledBuffer output)
    {
        // The same depth the request reader accepted: a body it passed must not fail here.
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
        reader.Read();
        var position = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isMessages = reader.ValueTextEquals("messages"u8);
            reader.Read();
            if (!isMessages || reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                continue;
            }

            var arrayStart = (int)reader.TokenStartIndex;
            output.Write(body[position..arrayStart]);
            output.Write("["u8);
            var first = true;
            var previousWasCommand = false;
            var index = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                var start = (int)reader.TokenStartIndex;
                // The reader's own rule: a user turn with any text block that is a command.
                ReadMessage(ref reader, index++, out var role, out _, out var isCommand);
                var end = (int)reader.BytesConsumed;
                var drop = isCommand || (previousWasCommand && role == MessageRole.Assistant);
                previousWasCommand = isCommand;
                if (drop)
                {
                    continue;
                }

                if (!first)
                {
                    output.Write(","u8);
                }

                output.Write(body[start..end]);
                first = false;
            }

            output.Write("]"u8);
            position = (int)reader.BytesConsumed;
        }

        output.Write(body[position..]);
        return output;
    }
}
