using System.Text.Json;
using Roxy.Api.Commands;

namespace Roxy.Api.Proxy;

/// <summary>
/// Removes earlier <c>#roxy</c> turns from a conversation before it goes upstream: every user message that is a
/// command, and the assistant message that answered it. A secret typed into a chat never travels on. The rest of
/// the body is copied byte for byte.
/// </summary>
public static class HistoryStripper
{
    /// <summary>What one message of a history is to the stripper.</summary>
    public enum Turn
    {
        /// <summary>A user turn that is not a command.</summary>
        User,

        /// <summary>A user turn that is a <c>#roxy</c> command: dropped.</summary>
        Command,

        /// <summary>An assistant turn: dropped when it answers a command.</summary>
        Assistant,

        /// <summary>Anything else (a system turn between turns): kept, and no answer to a command by itself.</summary>
        Aside,
    }

    /// <summary>Reads one message of a protocol's history (the reader on its start token) to its end.</summary>
    public delegate Turn MessageReader(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, int index);

    /// <summary>An OpenAI chat body's history.</summary>
    public static PooledBuffer Strip(ReadOnlySpan<byte> body) => Strip(body, ReadOpenAiMessage);

    /// <summary>The <c>messages</c> array of any protocol's body, each message read by <paramref name="readMessage"/>.</summary>
    public static PooledBuffer Strip(ReadOnlySpan<byte> body, MessageReader readMessage)
    {
        var output = new PooledBuffer(body.Length);
        try
        {
            return StripInto(body, output, readMessage);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    private static PooledBuffer StripInto(ReadOnlySpan<byte> body, PooledBuffer output, MessageReader readMessage)
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
                var turn = readMessage(ref reader, body, index++);
                var end = (int)reader.BytesConsumed;
                var drop = turn == Turn.Command || (previousWasCommand && turn == Turn.Assistant);
                if (turn != Turn.Aside)
                {
                    previousWasCommand = turn == Turn.Command;
                }

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

    private enum Role
    {
        Other,
        User,
        Assistant,
    }

    private static Turn ReadOpenAiMessage(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, int index)
    {
        var role = Role.Other;
        Range? text = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("role"u8))
            {
                reader.Read();
                // Compared without decoding: a role with invalid UTF-8 is simply neither, never an exception.
                role = reader.TokenType != JsonTokenType.String ? Role.Other
                    : reader.ValueTextEquals("user"u8) ? Role.User
                    : reader.ValueTextEquals("assistant"u8) ? Role.Assistant
                    : Role.Other;
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                text = ChatRequestReader.ReadFirstText(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return role switch
        {
            Role.Assistant => Turn.Assistant,
            Role.User => text is { } range && CommandParser.IsCommand(ChatRequestReader.TryDecodeString(body[range])) ? Turn.Command : Turn.User,
            _ => Turn.Aside,
        };
    }
}
