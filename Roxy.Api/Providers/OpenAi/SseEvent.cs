using System.Buffers;
using System.Text.Json;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;

namespace Roxy.Api.Providers.OpenAi;

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

    /// <summary>How far an unfinished event at the front of the buffer was already searched for its end.</summary>
    /// <remarks>Offsets count from the buffer's start, which stays put until an event is cut off it.</remarks>
    public struct Scan
    {
        internal long Scanned;
        internal long LineStart;
    }

    /// <summary>
    /// Cuts one complete event (through its blank line) off the front of <paramref name="buffer"/>. Each byte is
    /// searched once however the event arrives: <paramref name="scan"/> remembers where the last search stopped.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, ref Scan scan, out ReadOnlySequence<byte> evt)
    {
        var reader = new SequenceReader<byte>(buffer);
        reader.Advance(scan.Scanned);
        while (reader.TryAdvanceTo((byte)'\n'))
        {
            var end = reader.Consumed;
            var lineLength = end - 1 - scan.LineStart;
            if (lineLength == 0 || (lineLength == 1 && buffer.Slice(scan.LineStart, 1).FirstSpan[0] == (byte)'\r'))
            {
                evt = buffer.Slice(0, end);
                buffer = buffer.Slice(end);
                scan = default;
                return true;
            }

            scan.LineStart = end;
        }

        scan.Scanned = buffer.Length;
        evt = default;
        return false;
    }

    /// <summary>The same, for a buffer searched in one go.</summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> evt)
    {
        var scan = default(Scan);
        return TryRead(ref buffer, ref scan, out evt);
    }

    /// <summary>Classifies an event and reads its usage, if it carries any.</summary>
    public static Kind Inspect(ReadOnlySpan<byte> evt, out TokenUsage usage)
    {
        usage = default;
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
            if (data.IndexOf("\"usage\""u8) >= 0 && ReadUsage(data, out usage, out var noChoices, out _) && noChoices)
            {
                kind = Kind.UsageOnly;
            }
        }

        return kind;
    }

    /// <summary>
    /// Whether every <c>data:</c> line of <paramref name="evt"/> is one well-formed JSON object. Checked once per
    /// stream, on the event that would commit a passed-through answer: a confused hop's HTML page or binary noise
    /// under a 200 then fails over instead of reaching the client as an answer.
    /// </summary>
    public static bool DataIsJson(ReadOnlySpan<byte> evt)
    {
        var any = false;
        while (!evt.IsEmpty)
        {
            var newline = evt.IndexOf((byte)'\n');
            var line = newline < 0 ? evt : evt[..newline];
            evt = newline < 0 ? default : evt[(newline + 1)..];
            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (!line.StartsWith("data:"u8))
            {
                continue;
            }

            any = true;
            try
            {
                var reader = new Utf8JsonReader(line[5..], new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                reader.Skip();
                if (reader.Read())
                {
                    return false;
                }
            }
            catch (JsonException)
            {
                return false;
            }
        }

        return any;
    }

    // {"error": ...} with any whitespace after the brace.
    private static bool IsErrorObject(ReadOnlySpan<byte> data) =>
        data.Length > 0 && data[0] == (byte)'{' && data[1..].TrimStart(" \t\r\n"u8).StartsWith("\"error\""u8);

    /// <summary>
    /// Reads <c>usage</c> (the cached part of the prompt included) from a chunk or a whole completion;
    /// <paramref name="noChoices"/> marks the usage-only chunk.
    /// </summary>
    /// <param name="wellFormed">The whole of <paramref name="json"/> is one well-formed JSON object.</param>
    public static bool ReadUsage(ReadOnlySpan<byte> json, out TokenUsage usage, out bool noChoices, out bool wellFormed)
    {
        usage = default;
        noChoices = false;
        wellFormed = false;
        var found = false;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (OpenAiAnswerDecoder.ReadUsage(ref reader, out var read))
                    {
                        (usage, found) = (read, true);
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

            wellFormed = reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0 && !reader.Read();
        }
        catch (JsonException)
        {
            return found;
        }

        return found;
    }
}
