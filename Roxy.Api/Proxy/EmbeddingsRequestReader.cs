using System.Text.Json;
using Roxy.Api.Errors;

namespace Roxy.Api.Proxy;

/// <summary>
/// Validates and reads an embeddings body with <see cref="Utf8JsonReader"/>: one pass, no DOM. <c>input</c> is
/// one of OpenAI's four shapes (a string, strings, token ids, arrays of token ids); every other field
/// (<c>encoding_format</c>, <c>dimensions</c>, <c>user</c>, unknown ones) is left to the provider and forwarded as sent.
/// </summary>
public static class EmbeddingsRequestReader
{
    private const string Shapes = "a string, an array of strings, an array of token ids (integers) or an array of arrays of token ids";

    public static ProxyError? TryRead(ReadOnlySpan<byte> body, out EmbeddingsRequestInfo info)
    {
        info = new EmbeddingsRequestInfo();
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = ChatRequestReader.MaxDepth });
        var sawInput = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return ProxyError.BodyNotAnObject;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    var error = ChatRequestReader.ReadModel(ref reader, out var model, out var value);
                    if (error is not null)
                    {
                        return error;
                    }

                    info.Model = model;
                    info.ModelValue = value;
                }
                else if (reader.ValueTextEquals("input"u8))
                {
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    var error = ReadInput(ref reader);
                    if (error is not null)
                    {
                        return error;
                    }

                    info.InputValue = new Range(start, (int)reader.BytesConsumed);
                    sawInput = true;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return ProxyError.BodyNotJson;
            }
        }
        catch (JsonException ex)
        {
            return ProxyError.BodyNotJsonAt(ex);
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader does not validate UTF-8 inside strings; decoding one (GetString) does.
            return ProxyError.BodyNotUtf8;
        }

        if (info.Model.Length == 0)
        {
            return ProxyError.ModelMissing;
        }

        if (!sawInput)
        {
            return ProxyError.InvalidRequest($"'input' is required: {Shapes}.", "input");
        }

        return null;
    }

    // The shape is set by the first element; the rest must match it, as OpenAI requires.
    private static ProxyError? ReadInput(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.ValueSpan.IsEmpty ? ProxyError.InvalidRequest("'input' must not be an empty string.", "input") : null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return ProxyError.InvalidRequest($"'input' must be {Shapes}.", "input");
        }

        reader.Read();
        return reader.TokenType switch
        {
            JsonTokenType.EndArray => ProxyError.InvalidRequest("'input' must not be an empty array.", "input"),
            JsonTokenType.String => ReadStrings(ref reader),
            JsonTokenType.Number => ReadTokenIds(ref reader, outer: -1),
            JsonTokenType.StartArray => ReadTokenArrays(ref reader),
            _ => ProxyError.InvalidRequest($"'input' must be {Shapes}.", "input"),
        };
    }

    private static ProxyError? ReadStrings(ref Utf8JsonReader reader)
    {
        var count = 0;
        do
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                return ProxyError.InvalidRequest($"'input[{count}]' must be a string, as 'input[0]' is.", "input");
            }

            if (reader.ValueSpan.IsEmpty)
            {
                return ProxyError.InvalidRequest($"'input[{count}]' must not be an empty string.", "input");
            }

            count++;
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray);

        return null;
    }

    // Positioned on the first element of a non-empty array; ends on its EndArray. Outer is the index of the array
    // inside 'input', or -1 when the array is 'input' itself.
    private static ProxyError? ReadTokenIds(ref Utf8JsonReader reader, int outer)
    {
        var index = 0;
        do
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var id) || id < 0)
            {
                var path = outer < 0 ? "input" : $"input[{outer}]";
                return ProxyError.InvalidRequest($"'{path}[{index}]' must be a token id (an integer of at least 0), as '{path}[0]' is.", "input");
            }

            index++;
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray);

        return null;
    }

    private static ProxyError? ReadTokenArrays(ref Utf8JsonReader reader)
    {
        var count = 0;
        do
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return ProxyError.InvalidRequest($"'input[{count}]' must be an array of token ids, as 'input[0]' is.", "input");
            }

            reader.Read();
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return ProxyError.InvalidRequest($"'input[{count}]' must not be an empty array.", "input");
            }

            var error = ReadTokenIds(ref reader, outer: count);
            if (error is not null)
            {
                return error;
            }

            count++;
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray);

        return null;
    }
}
