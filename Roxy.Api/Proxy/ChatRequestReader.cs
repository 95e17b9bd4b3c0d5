using System.Text.Json;
using Roxy.Api.Errors;

namespace Roxy.Api.Proxy;

/// <summary>
/// Validates and reads a chat completions body with <see cref="Utf8JsonReader"/>: one pass, no DOM, no copies of
/// the messages. Anything Roxy does not need is skipped and later forwarded byte for byte.
/// </summary>
public static class ChatRequestReader
{
    /// <summary>How deep a request's JSON may nest; everything else that walks a body uses the same.</summary>
    public const int MaxDepth = 128;

    /// <summary>The most choices (<c>n</c>) one request may ask for, as OpenAI allows.</summary>
    public const int MaxChoices = 128;

    public static ProxyError? TryRead(ReadOnlySpan<byte> body, out ChatRequestInfo info)
    {
        info = new ChatRequestInfo();
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = MaxDepth });
        var sawModel = false;
        var sawMessages = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return ProxyError.BodyNotAnObject;
            }

            info.ObjectStart = (int)reader.BytesConsumed;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var memberStart = (int)reader.TokenStartIndex;
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    var error = ReadModel(ref reader, out var model, out var value);
                    if (error is not null)
                    {
                        return error;
                    }

                    info.Model = model;
                    info.ModelValue = value;
                    sawModel = model.Length > 0;
                }
                else if (reader.ValueTextEquals("stream"u8))
                {
                    reader.Read();
                    if (reader.TokenType is JsonTokenType.True or JsonTokenType.False)
                    {
                        info.Stream = reader.GetBoolean();
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        return ProxyError.InvalidRequest("'stream' must be a boolean.", "stream");
                    }
                }
                else if (reader.ValueTextEquals("stream_options"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        info.StreamOptionsObjectStart = (int)reader.BytesConsumed;
                        ReadStreamOptions(ref reader, info);
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        return ProxyError.InvalidRequest("'stream_options' must be an object.", "stream_options");
                    }

                    info.StreamOptionsMember = new Range(memberStart, (int)reader.BytesConsumed);
                }
                else if (reader.ValueTextEquals("max_tokens"u8) || reader.ValueTextEquals("max_completion_tokens"u8))
                {
                    var field = reader.ValueTextEquals("max_tokens"u8) ? "max_tokens" : "max_completion_tokens";
                    reader.Read();
                    // The budget is reserved in a key's token window: an absurd one must not reach the arithmetic.
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var maxTokens)
                        && maxTokens is > 0 and <= TokenEstimator.MaxCompletionTokens)
                    {
                        info.MaxTokens = maxTokens;
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        return ProxyError.InvalidRequest(
                            $"'{field}' must be an integer from 1 to {TokenEstimator.MaxCompletionTokens}.", field);
                    }
                }
                else if (reader.ValueTextEquals("n"u8))
                {
                    reader.Read();
                    // OpenAI generates (and bills) up to max_tokens for each of the n choices; its own bounds.
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var choices) && choices is >= 1 and <= MaxChoices)
                    {
                        info.Choices = choices;
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        return ProxyError.InvalidRequest($"'n' must be an integer from 1 to {MaxChoices}.", "n");
                    }
                }
                else if (reader.ValueTextEquals("messages"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        return ProxyError.InvalidRequest("'messages' must be an array.", "messages");
                    }

                    var error = ReadMessages(ref reader, info, body);
                    if (error is not null)
                    {
                        return error;
                    }

                    sawMessages = true;
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

        if (!sawModel)
        {
            return ProxyError.ModelMissing;
        }

        if (!sawMessages || info.MessageCount == 0)
        {
            return ProxyError.InvalidRequest("'messages' is required and must contain at least one message.", "messages");
        }

        return null;
    }

    internal const int MaxModelLength = 256;

    /// <summary>
    /// Reads the <c>model</c> value the reader is on; an empty name is left for the caller to refuse as missing. The
    /// name travels into response headers and log lines: printable ASCII only, as every provider's ids are.
    /// </summary>
    internal static ProxyError? ReadModel(ref Utf8JsonReader reader, out string model, out Range value)
    {
        model = "";
        value = default;
        if (reader.TokenType != JsonTokenType.String)
        {
            return ProxyError.InvalidRequest("'model' must be a string.", "model");
        }

        model = reader.GetString() ?? "";
        value = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
        if (model.Length > 0 && !IsModelName(model))
        {
            return ProxyError.InvalidRequest(
                $"'model' must be at most {MaxModelLength} printable ASCII characters (letters, digits and punctuation such as '-', '.', ':', '/').", "model");
        }

        return null;
    }

    internal static bool IsModelName(string model) =>
        model.Length <= MaxModelLength && !model.AsSpan().ContainsAnyExceptInRange('!', '~');

    private static void ReadStreamOptions(ref Utf8JsonReader reader, ChatRequestInfo info)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            info.StreamOptionsHasMembers = true;
            var isUsage = reader.ValueTextEquals("include_usage"u8);
            reader.Read();
            if (isUsage && reader.TokenType == JsonTokenType.True)
            {
                info.ClientWantsUsage = true;
            }
            else
            {
                var valueStart = (int)reader.TokenStartIndex;
                reader.Skip();
                if (isUsage)
                {
                    info.IncludeUsageValue = new Range(valueStart, (int)reader.BytesConsumed);
                }
            }
        }
    }

    private static ProxyError? ReadMessages(ref Utf8JsonReader reader, ChatRequestInfo info, ReadOnlySpan<byte> body)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return ProxyError.InvalidRequest($"'messages[{info.MessageCount}]' must be an object.", $"messages[{info.MessageCount}]");
            }

            var isUser = false;
            Range? text = null;
            var hasRole = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("role"u8))
                {
                    reader.Read();
                    hasRole = reader.TokenType == JsonTokenType.String;
                    isUser = hasRole && reader.ValueTextEquals("user"u8);
                }
                else if (reader.ValueTextEquals("content"u8))
                {
                    reader.Read();
                    text = ReadFirstText(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (!hasRole)
            {
                return ProxyError.InvalidRequest($"'messages[{info.MessageCount}].role' is required.", $"messages[{info.MessageCount}].role");
            }

            if (isUser)
            {
                info.LastUserTextToken = text;
                info.LastUserIsCommand = text is { } t && IsCommandText(body[t]);
                if (info.LastUserIsCommand)
                {
                    info.CommandMessages++;
                }
            }

            info.MessageCount++;
        }

        return null;
    }

    // Only text that could start with "#roxy" (raw '#' or its \u0023 escape) is decoded to check.
    private static bool IsCommandText(ReadOnlySpan<byte> token)
    {
        if (token.IndexOf((byte)'#') < 0 && token.IndexOf("\\u0023"u8) < 0)
        {
            return false;
        }

        var reader = new Utf8JsonReader(token);
        reader.Read();
        return Commands.CommandParser.IsCommand(reader.GetString());
    }

    /// <summary>Decodes the last user message's text; only then is a string allocated.</summary>
    public static string? LastUserText(ReadOnlySpan<byte> body, ChatRequestInfo info)
    {
        if (info.LastUserTextToken is not { } range)
        {
            return null;
        }

        return TryDecodeString(body[range]);
    }

    /// <summary>Decodes one JSON string token; null when its bytes are not valid UTF-8 (no command can be read).</summary>
    internal static string? TryDecodeString(ReadOnlySpan<byte> token)
    {
        var reader = new Utf8JsonReader(token);
        reader.Read();
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    // Content is a string or an array of parts; only the first text part matters for command detection.
    // Returns the byte range of that string token so nothing is decoded for earlier messages.
    internal static Range? ReadFirstText(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return TokenRange(ref reader);
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        Range? first = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (first is null && reader.TokenType == JsonTokenType.StartObject)
            {
                var isText = false;
                Range? text = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("type"u8))
                    {
                        reader.Read();
                        // Compared, not decoded: invalid UTF-8 in a part's type is not a text part, never an exception.
                        isText = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("text"u8);
                    }
                    else if (reader.ValueTextEquals("text"u8))
                    {
                        reader.Read();
                        text = reader.TokenType == JsonTokenType.String ? TokenRange(ref reader) : null;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }

                if (isText)
                {
                    first = text;
                }
            }
            else
            {
                reader.Skip();
            }
        }

        return first;
    }

    private static Range TokenRange(ref Utf8JsonReader reader) =>
        new((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
}
