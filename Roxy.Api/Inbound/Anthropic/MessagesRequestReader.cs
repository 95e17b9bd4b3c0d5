using System.Globalization;
using System.Text.Json;
using Roxy.Api.Commands;
using Roxy.Api.Errors;
using Roxy.Api.Proxy;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// Validates and reads an Anthropic Messages body with <see cref="Utf8JsonReader"/>: one pass, no DOM. Anything Roxy
/// does not need is skipped and later forwarded byte for byte. What is checked is what Anthropic checks cheaply, so a
/// client hears about a malformed request from Roxy, in Anthropic's words, whatever the target.
/// </summary>
public static class MessagesRequestReader
{
    /// <param name="countTokens">The body of <c>/v1/messages/count_tokens</c>, which has no <c>max_tokens</c>.</param>
    public static ProxyError? TryRead(ReadOnlySpan<byte> body, bool countTokens, out MessagesRequestInfo info)
    {
        info = new MessagesRequestInfo();
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = ChatRequestReader.MaxDepth });
        var sawModel = false;
        var sawMessages = false;
        var sawMaxTokens = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return ProxyError.BodyNotAnObject;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                ProxyError? error = null;
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    error = ReadModel(ref reader, info);
                    sawModel = info.Model.Length > 0;
                }
                else if (reader.ValueTextEquals("messages"u8))
                {
                    reader.Read();
                    error = ReadMessages(ref reader, body, info);
                    sawMessages = true;
                }
                else if (reader.ValueTextEquals("max_tokens"u8))
                {
                    reader.Read();
                    if (countTokens)
                    {
                        // count_tokens takes the same body as messages; the budget counts nothing there.
                        reader.Skip();
                        continue;
                    }

                    error = ReadMaxTokens(ref reader, info);
                    sawMaxTokens = true;
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
                        error = MessagesErrors.Invalid("stream", "Input should be a valid boolean");
                    }
                }
                else if (reader.ValueTextEquals("system"u8))
                {
                    reader.Read();
                    error = ReadSystem(ref reader);
                }
                else if (reader.ValueTextEquals("tools"u8))
                {
                    reader.Read();
                    error = ReadTools(ref reader);
                }
                else if (reader.ValueTextEquals("tool_choice"u8))
                {
                    reader.Read();
                    if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.Null))
                    {
                        error = MessagesErrors.Invalid("tool_choice", "Input should be an object");
                    }

                    reader.Skip();
                }
                else
                {
                    // thinking, metadata, cache_control, context_management, ...: the target's business.
                    reader.Read();
                    reader.Skip();
                }

                if (error is not null)
                {
                    return error;
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
            return MessagesErrors.Required("model");
        }

        if (!sawMessages)
        {
            return MessagesErrors.Required("messages");
        }

        if (info.MessageCount == 0)
        {
            return MessagesErrors.Invalid("messages", "at least one message is required");
        }

        if (!countTokens && !sawMaxTokens)
        {
            return MessagesErrors.Required("max_tokens");
        }

        return null;
    }

    /// <summary>The last user turn's text, decoded; null when there is none or it is not valid UTF-8.</summary>
    public static string? LastUserText(ReadOnlySpan<byte> body, MessagesRequestInfo info) =>
        info.LastUserTextToken is { } range ? ChatRequestReader.TryDecodeString(body[range]) : null;

    private static ProxyError? ReadModel(ref Utf8JsonReader reader, MessagesRequestInfo info)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return MessagesErrors.Invalid("model", "Input should be a valid string");
        }

        // The name travels into response headers and log lines: printable ASCII only, as every provider's ids are.
        info.Model = reader.GetString()!;
        info.ModelValue = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
        return info.Model.Length > 0 && !ChatRequestReader.IsModelName(info.Model)
            ? MessagesErrors.Invalid("model", $"Input should be at most {ChatRequestReader.MaxModelLength} printable ASCII characters")
            : null;
    }

    private static ProxyError? ReadMaxTokens(ref Utf8JsonReader reader, MessagesRequestInfo info)
    {
        // The budget is reserved in a key's token window: an absurd one must not reach the arithmetic.
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var maxTokens))
        {
            reader.Skip();
            return MessagesErrors.Invalid("max_tokens", "Input should be a valid integer");
        }

        if (maxTokens < 1)
        {
            return MessagesErrors.Invalid("max_tokens", "Input should be greater than or equal to 1");
        }

        if (maxTokens > TokenEstimator.MaxCompletionTokens)
        {
            return MessagesErrors.Invalid(
                "max_tokens", $"Input should be less than or equal to {TokenEstimator.MaxCompletionTokens.ToString(CultureInfo.InvariantCulture)}");
        }

        info.MaxTokens = (int)maxTokens;
        return null;
    }

    private static ProxyError? ReadSystem(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is JsonTokenType.String or JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return MessagesErrors.Invalid("system", "Input should be a string or a list of text blocks");
        }

        return ReadBlocks(ref reader, -1, out _);
    }

    private static ProxyError? ReadTools(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return MessagesErrors.Invalid("tools", "Input should be a valid list");
        }

        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return MessagesErrors.Invalid(Path("tools", index), "Input should be an object");
            }

            reader.Skip();
            index++;
        }

        return null;
    }

    private static ProxyError? ReadMessages(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, MessagesRequestInfo info)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return MessagesErrors.Invalid("messages", "Input should be a valid list");
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var error = ReadMessage(ref reader, info.MessageCount, out var role, out var text);
            if (error is not null)
            {
                return error;
            }

            var isUser = role == MessageRole.User;
            info.LastUserTextToken = isUser ? text : null;
            info.LastUserIsCommand = isUser && text is { } t && IsCommandText(body[t]);
            if (info.LastUserIsCommand)
            {
                info.CommandMessages++;
            }

            info.MessageCount++;
        }

        return null;
    }

    internal enum MessageRole
    {
        None,
        User,
        Assistant,

        /// <summary>A system turn inside the conversation (Claude Code sends them with a beta).</summary>
        System,

        /// <summary>A role newer than this build: an Anthropic target judges it; a translation refuses it.</summary>
        Other,
    }

    /// <summary>
    /// Reads the message the reader is on (its start token) to its end. <paramref name="text"/> is the token of the
    /// text that may be a command: the string content, else the last text block's.
    /// </summary>
    internal static ProxyError? ReadMessage(ref Utf8JsonReader reader, int index, out MessageRole role, out Range? text)
    {
        role = MessageRole.None;
        text = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return MessagesErrors.Invalid(Path("messages", index), "Input should be an object");
        }

        var sawRole = false;
        var sawContent = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("role"u8))
            {
                reader.Read();
                sawRole = true;
                // Compared, not decoded: a role with invalid UTF-8 is simply another role, never an exception.
                role = reader.TokenType != JsonTokenType.String ? MessageRole.None
                    : reader.ValueTextEquals("user"u8) ? MessageRole.User
                    : reader.ValueTextEquals("assistant"u8) ? MessageRole.Assistant
                    : reader.ValueTextEquals("system"u8) ? MessageRole.System
                    : MessageRole.Other;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                sawContent = true;
                if (reader.TokenType == JsonTokenType.String)
                {
                    text = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
                }
                else if (reader.TokenType == JsonTokenType.StartArray)
                {
                    var error = ReadBlocks(ref reader, index, out text);
                    if (error is not null)
                    {
                        return error;
                    }
                }
                else
                {
                    reader.Skip();
                    return MessagesErrors.Invalid(Path("messages", index) + ".content", "Input should be a string or a list of content blocks");
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (!sawRole)
        {
            return MessagesErrors.Required(Path("messages", index) + ".role");
        }

        if (role == MessageRole.None)
        {
            return MessagesErrors.Invalid(Path("messages", index) + ".role", "Input should be a valid string");
        }

        return sawContent ? null : MessagesErrors.Required(Path("messages", index) + ".content");
    }

    // Content blocks: objects with a string type; a text block's text a string. Nothing inside tool results or
    // images is looked at (the target checks those). The last text block is the one a command would be in: Claude
    // Code puts its <system-reminder> blocks before what the user typed.
    // The path of a block is only spelled out for an error; message -1 is the system prompt.
    private static ProxyError? ReadBlocks(ref Utf8JsonReader reader, int message, out Range? lastText)
    {
        lastText = null;
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return MessagesErrors.Invalid(BlockPath(message, index), "Input should be an object");
            }

            var type = BlockType.Missing;
            Range? text = null;
            var textIsString = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    type = reader.TokenType != JsonTokenType.String ? BlockType.NotAString
                        : reader.ValueTextEquals("text"u8) ? BlockType.Text
                        : BlockType.Other;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    textIsString = reader.TokenType == JsonTokenType.String;
                    text = textIsString ? new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed) : null;
                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            switch (type)
            {
                case BlockType.Missing:
                    return MessagesErrors.Required(BlockPath(message, index) + ".type");
                case BlockType.NotAString:
                    return MessagesErrors.Invalid(BlockPath(message, index) + ".type", "Input should be a valid string");
                case BlockType.Text when !textIsString:
                    return MessagesErrors.Invalid(BlockPath(message, index) + ".text", "Input should be a valid string");
                case BlockType.Text:
                    lastText = text;
                    break;
            }

            index++;
        }

        return null;
    }

    private enum BlockType
    {
        Missing,
        NotAString,
        Text,
        Other,
    }

    // Decoded to check (GetString throws on invalid UTF-8, which is then a 400 up front, as for chat).
    private static bool IsCommandText(ReadOnlySpan<byte> token)
    {
        if (!MightBeCommand(token))
        {
            return false;
        }

        var reader = new Utf8JsonReader(token);
        reader.Read();
        return CommandParser.IsCommand(reader.GetString());
    }

    /// <summary>Whether the text token is a <c>#roxy</c> command; false for text that is not valid UTF-8.</summary>
    internal static bool IsCommandToken(ReadOnlySpan<byte> token) =>
        MightBeCommand(token) && CommandParser.IsCommand(ChatRequestReader.TryDecodeString(token));

    // Only text that could start with "#roxy" (raw '#' or its \u0023 escape) is worth decoding.
    private static bool MightBeCommand(ReadOnlySpan<byte> token) =>
        token.IndexOf((byte)'#') >= 0 || token.IndexOf("\\u0023"u8) >= 0;

    private static string BlockPath(int message, int index) =>
        message < 0 ? Path("system", index) : Path(Path("messages", message) + ".content", index);

    internal static string Path(string parent, int index) => parent + "." + index.ToString(CultureInfo.InvariantCulture);
}
