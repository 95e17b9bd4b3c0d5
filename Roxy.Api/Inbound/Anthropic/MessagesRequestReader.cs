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
                    error = ReadMessages(ref reader, info);
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

        return ReadBlocks(ref reader, -1, out _, out _);
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

    private static ProxyError? ReadMessages(ref Utf8JsonReader reader, MessagesRequestInfo info)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return MessagesErrors.Invalid("messages", "Input should be a valid list");
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var error = ReadMessage(ref reader, info.MessageCount, out var role, out var text, out var isCommand);
            if (error is not null)
            {
                return error;
            }

            // A system turn after the user's (Claude Code appends one under a beta) does not change who spoke last:
            // "#roxy add key …" followed by one is still a command, answered here and never forwarded.
            if (role is MessageRole.User or MessageRole.Assistant)
            {
                info.LastUserTextToken = role == MessageRole.User ? text : null;
                info.LastUserIsCommand = isCommand;
            }

            if (isCommand)
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
    /// Reads the message the reader is on (its start token) to its end; the one rule for what is a command, shared by
    /// this reader and <see cref="MessagesHistoryStripper"/>. A user turn is a <c>#roxy</c> command when its string
    /// content or ANY of its text blocks is one: a client that appends blocks after what the user typed (reminders,
    /// attachments, queued-message wrappers) must not hide a command and send its secret upstream.
    /// <paramref name="text"/> is the string content's token, else the first command block's, else the last text
    /// block's.
    /// </summary>
    internal static ProxyError? ReadMessage(ref Utf8JsonReader reader, int index, out MessageRole role, out Range? text, out bool isCommand)
    {
        role = MessageRole.None;
        text = null;
        isCommand = false;
        var commandText = false;
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
                    commandText = IsCommandValue(ref reader);
                }
                else if (reader.TokenType == JsonTokenType.StartArray)
                {
                    var error = ReadBlocks(ref reader, index, out text, out commandText);
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

        // The role may come after the content: texts are judged as they pass, the turn once its role is known.
        isCommand = role == MessageRole.User && commandText;
        return sawContent ? null : MessagesErrors.Required(Path("messages", index) + ".content");
    }

    // Content blocks: objects with a string type; a text block's text a string. Nothing inside tool results or
    // images is looked at (the target checks those, and a result is no one's typing). text is the first text block
    // that is a command, else the last one (Claude Code puts its <system-reminder> blocks before what the user typed).
    // The path of a block is only spelled out for an error; message -1 is the system prompt.
    private static ProxyError? ReadBlocks(ref Utf8JsonReader reader, int message, out Range? text, out bool command)
    {
        text = null;
        command = false;
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return MessagesErrors.Invalid(BlockPath(message, index), "Input should be an object");
            }

            var type = BlockType.Missing;
            Range? blockText = null;
            var textIsString = false;
            var blockCommand = false;
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
                    blockText = textIsString ? new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed) : null;
                    blockCommand = textIsString && IsCommandValue(ref reader);
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
                case BlockType.Text when !command:
                    text = blockText;
                    command = blockCommand;
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

    // Decoded to check, the string the reader is on; GetString throws on invalid UTF-8, which is then a 400 up front,
    // as for chat (the stripper walks only bodies this reader accepted, so it never meets one).
    private static bool IsCommandValue(ref Utf8JsonReader reader) =>
        MightBeCommand(reader.ValueSpan) && CommandParser.IsCommand(reader.GetString());

    /// <summary>
    /// Whether a raw string value (escapes as sent, no quotes) could decode to whitespace then <c>#r</c>, where every
    /// command starts. Exact when it says no, and it stops at the first byte that cannot be whitespace, so a long
    /// text is not decoded, nor read to its end: every text block of every turn goes through here.
    /// </summary>
    internal static bool MightBeCommand(ReadOnlySpan<byte> raw)
    {
        var i = 0;
        while (i < raw.Length)
        {
            var b = raw[i];
            if (b == (byte)'#' || raw[i..].StartsWith("\\u0023"u8))
            {
                i += b == (byte)'#' ? 1 : 6;
                // The 'r' itself may be escaped.
                return i < raw.Length && raw[i] is (byte)'r' or (byte)'R' or (byte)'\\';
            }

            if (b == (byte)'\\')
            {
                // Any escape may be whitespace (\n, \u2028, ...); the reader has checked their syntax.
                i += i + 1 < raw.Length && raw[i + 1] == (byte)'u' ? 6 : 2;
            }
            else if (b is (byte)' ' or >= 0x80)
            {
                // A space, or a byte of a multi-byte character, which may be a Unicode space.
                i++;
            }
            else
            {
                return false;
            }
        }

        return false;
    }

    private static string BlockPath(int message, int index) =>
        message < 0 ? Path("system", index) : Path(Path("messages", message) + ".content", index);

    internal static string Path(string parent, int index) => parent + "." + index.ToString(CultureInfo.InvariantCulture);
}
