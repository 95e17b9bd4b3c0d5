using System.Buffers;
using System.Text.Json;

namespace Roxy.Api.Proxy;

/// <summary>Reads SSE framing (events end at a blank line) and what Roxy needs to know about each event.</summary>
public static class SseEvent
{
    public enum Kind
    {
        /// <summary>A comment or an event without data (keep-alives).</summary>
        Empty,
        Content,
        Done,
        Error,

        /// <summary>The usage-only chunk (<c>choices: []</c>) Roxy asked for.</summary>
        UsageOnly,
    }

    /// <summary>Cuts one complete event (through its blank line) off the front of <paramref name="buffer"/>.</summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> evt)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            if (line.IsEmpty || (line.Length == 1 && line.FirstSpan[0] == (byte)'\r'))
            {
                evt = buffer.Slice(0, reader.Position);
                buffer = buffer.Slice(reader.Position);
                return true;
            }
        }

        evt = default;
        return false;
    }

    /// <summary>Classifies an event and reads its usage, if it carries any.</summary>
    public static Kind Inspect(ReadOnlySpan<byte> evt, out int promptTokens, out int completionTokens)
    {
        promptTokens = 0;
        completionTokens = 0;
        var isErrorEvent = false;
        var kind = Kind.Empty;
        while (!evt.IsEmpty)
        {
            var newline = evt.IndexOf((byte)'\n');
            var line = newline < 0 ? evt : evt[..newline];
            evt = newline < 0 ? default : evt[(newline + 1)..];
            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.StartsWith("event:"u8))
            {
                isErrorEvent = line[6..].Trim((byte)' ').SequenceEqual("error"u8);
                continue;
            }

            if (!line.StartsWith("data:"u8))
            {
                continue;
            }

            var data = line[5..].TrimStart((byte)' ');
            if (data.SequenceEqual("[DONE]"u8))
            {
                return Kind.Done;
            }

            if (isErrorEvent || IsErrorObject(data))
            {
                return Kind.Error;
            }

            kind = Kind.Content;
            if (data.IndexOf("\"usage\""u8) >= 0 && ReadUsage(data, out promptTokens, out completionTokens, out var noChoices) && noChoices)
            {
                kind = Kind.UsageOnly;
            }
        }

        return kind;
    }

    // {"error": ...} with any whitespace after the brace.
    private static bool IsErrorObject(ReadOnlySpan<byte> data) =>
        data.Length > 0 && data[0] == (byte)'{' && data[1..].TrimStart(" \t\r\n"u8).StartsWith("\"error\""u8);

    /// <summary>Reads <c>usage</c> from a chunk or a whole completion; <paramref name="noChoices"/> marks the usage-only chunk.</summary>
    public static bool ReadUsage(ReadOnlySpan<byte> json, out int promptTokens, out int completionTokens, out bool noChoices)
    {
        promptTokens = 0;
        completionTokens = 0;
        noChoices = false;
        var found = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        continue;
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var prompt = reader.ValueTextEquals("prompt_tokens"u8) || reader.ValueTextEquals("input_tokens"u8);
                        var completion = reader.ValueTextEquals("completion_tokens"u8) || reader.ValueTextEquals("output_tokens"u8);
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.Number && (prompt || completion))
                        {
                            // A count that is not an Int32 (fractional, huge) is ignored rather than thrown on.
                            if (reader.TryGetInt32(out var count))
                            {
                                found = true;
                                if (prompt)
                                {
                                    promptTokens = count;
                                }
                                else
                                {
                                    completionTokens = count;
                                }
                            }
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        reader.Read();
                        noChoices = reader.TokenType == JsonTokenType.EndArray;
                        if (!noChoices)
                        {
                            reader.Skip();
                            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                            {
                                reader.Skip();
                            }
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return found;
        }

        return found;
    }
}
