using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Roxy.Api.Errors;
using Roxy.Api.Proxy;
using static Roxy.Api.Inbound.Anthropic.MessagesRequestReader;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// An Anthropic Messages request as an OpenAI chat completions request: the form every upstream protocol other than
/// Anthropic's is handed (OpenAI's is the hub between protocols). One <see cref="JsonDocument"/> over the client's
/// bytes; texts, schemas and image data are copied as raw JSON, never decoded.
/// </summary>
/// <remarks>
/// Anthropic-only fields (<c>top_k</c>, <c>thinking</c>, <c>cache_control</c>, <c>context_management</c>,
/// <c>service_tier</c>, ...) are dropped: OpenAI answers 400 to fields it does not know. What has no OpenAI form and
/// would change the answer if dropped (server tools, PDF documents, image files) is refused with a 400.
/// </remarks>
public static class MessagesToChatTranslator
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The body goes to an API, not into HTML: no \u002B for every '+' of an image's base64.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = ChatRequestReader.MaxDepth + 8,
    };

    /// <summary>
    /// The OpenAI body for <paramref name="body"/>, with <c>stream_options.include_usage</c> set when streaming (an
    /// Anthropic stream always ends with usage). An error (a 400 to the client) when it cannot be expressed.
    /// </summary>
    /// <param name="body">A body <see cref="MessagesRequestReader"/> accepted.</param>
    /// <param name="maxCompletionTokens">
    /// The budget goes as <c>max_completion_tokens</c> (OpenAI's own API, whose reasoning models refuse
    /// <c>max_tokens</c>) rather than <c>max_tokens</c> (what every other OpenAI-compatible server reads).
    /// </param>
    public static ProxyError? Translate(ReadOnlySpan<byte> body, MessagesRequestInfo info, bool maxCompletionTokens, out PooledBuffer? chatBody)
    {
        chatBody = null;
        // Raw texts are copied unchecked below: the document is only had for bytes checked as UTF-8.
        if (!RequestDocument.TryParse(body, out var document, out var invalid))
        {
            return invalid;
        }

        using (document)
        {
            var buffer = new PooledBuffer(body.Length + 256);
            try
            {
                ProxyError? error;
                using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
                {
                    error = new Translation(writer, info, maxCompletionTokens).Write(document.RootElement);
                }

                if (error is not null)
                {
                    buffer.Dispose();
                    return error;
                }

                chatBody = buffer;
                return null;
            }
            catch (InvalidOperationException)
            {
                // A string escape that is no Unicode (a lone surrogate such as "\ud800") is valid JSON, and only turns
                // up when a tool's input is re-written: the client's request, not a failure of Roxy's.
                buffer.Dispose();
                return ProxyError.InvalidRequest("The request contains a JSON string escape that is not valid Unicode (a lone surrogate).", null);
            }
            catch
            {
                buffer.Dispose();
                throw;
            }
        }
    }

    private enum Kind
    {
        Text,
        Image,
        Document,
        ToolUse,
        ToolResult,
        Thinking,
        Other,
    }

    private static Kind KindOf(JsonElement block)
    {
        if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String)
        {
            return Kind.Other;
        }

        return type.ValueEquals("text"u8) ? Kind.Text
            : type.ValueEquals("tool_result"u8) ? Kind.ToolResult
            : type.ValueEquals("tool_use"u8) ? Kind.ToolUse
            : type.ValueEquals("image"u8) ? Kind.Image
            : type.ValueEquals("document"u8) ? Kind.Document
            : type.ValueEquals("thinking"u8) || type.ValueEquals("redacted_thinking"u8) ? Kind.Thinking
            : Kind.Other;
    }

    /// <summary>One translation: the writer, and a scratch buffer for texts joined without decoding them.</summary>
    private sealed class Translation(Utf8JsonWriter writer, MessagesRequestInfo info, bool maxCompletionTokens)
    {
        /// <summary>OpenAI refuses a longer <c>user</c>, and a longer <c>stop</c> list.</summary>
        private const int MaxUserLength = 64;

        private const int MaxStopSequences = 4;

        private static ReadOnlySpan<byte> Separator => "\\n\\n"u8;

        // OpenAI's tool message has no error flag: the model reads it in the content instead.
        private static ReadOnlySpan<byte> ErrorPrefix => "Error: "u8;

        private readonly ArrayBufferWriter<byte> _scratch = new(256);
        private int _messages;

        public ProxyError? Write(JsonElement root)
        {
            JsonElement system = default, messages = default, tools = default, toolChoice = default;
            JsonElement stop = default, metadata = default, temperature = default, topP = default;
            foreach (var member in root.EnumerateObject())
            {
                var value = member.Value;
                if (member.NameEquals("system"u8))
                {
                    system = value;
                }
                else if (member.NameEquals("messages"u8))
                {
                    messages = value;
                }
                else if (member.NameEquals("tools"u8))
                {
                    tools = value;
                }
                else if (member.NameEquals("tool_choice"u8))
                {
                    toolChoice = value;
                }
                else if (member.NameEquals("stop_sequences"u8))
                {
                    stop = value;
                }
                else if (member.NameEquals("metadata"u8))
                {
                    metadata = value;
                }
                else if (member.NameEquals("temperature"u8))
                {
                    temperature = value;
                }
                else if (member.NameEquals("top_p"u8))
                {
                    topP = value;
                }
            }

            writer.WriteStartObject();
            writer.WriteString("model"u8, info.Model);
            writer.WriteStartArray("messages"u8);
            var error = WriteSystem(system, "system") ?? WriteMessages(messages);
            if (error is not null)
            {
                return error;
            }

            writer.WriteEndArray();
            if (_messages == 0)
            {
                return MessagesErrors.Invalid(
                    "messages", "no content is left for an OpenAI-compatible target once thinking blocks are dropped");
            }

            if (info.MaxTokens is { } maxTokens)
            {
                writer.WriteNumber(maxCompletionTokens ? "max_completion_tokens"u8 : "max_tokens"u8, maxTokens);
            }

            error = WriteNumber("temperature"u8, "temperature", temperature)
                    ?? WriteNumber("top_p"u8, "top_p", topP)
                    ?? WriteStop(stop)
                    ?? WriteUser(metadata);
            if (error is not null)
            {
                return error;
            }

            if (info.Stream)
            {
                writer.WriteBoolean("stream"u8, true);
                writer.WriteStartObject("stream_options"u8);
                writer.WriteBoolean("include_usage"u8, true);
                writer.WriteEndObject();
            }

            error = WriteTools(tools, toolChoice);
            if (error is not null)
            {
                return error;
            }

            writer.WriteEndObject();
            return null;
        }

        // ---- system ----

        private ProxyError? WriteSystem(JsonElement system, string path)
        {
            if (system.ValueKind == JsonValueKind.String)
            {
                if (JsonMarshal.GetRawUtf8Value(system).Length > 2)
                {
                    WriteMessageStart("system"u8);
                    writer.WritePropertyName("content"u8);
                    writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(system), skipInputValidation: true);
                    WriteMessageEnd();
                }

                return null;
            }

            if (system.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var index = 0;
            var texts = 0;
            foreach (var block in system.EnumerateArray())
            {
                if (KindOf(block) != Kind.Text)
                {
                    return MessagesErrors.Invalid(Path(path, index) + ".type", "Input should be 'text'");
                }

                texts++;
                index++;
            }

            // Joined into one string: not every OpenAI-compatible server takes content parts in a system message.
            if (texts > 0)
            {
                WriteMessageStart("system"u8);
                writer.WritePropertyName("content"u8);
                WriteJoinedTexts(system, withDocuments: false);
                WriteMessageEnd();
            }

            return null;
        }

        // ---- messages ----

        private ProxyError? WriteMessages(JsonElement messages)
        {
            if (messages.ValueKind != JsonValueKind.Array)
            {
                return MessagesErrors.Invalid("messages", "Input should be a valid list");
            }

            var index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                if (message.ValueKind != JsonValueKind.Object
                    || !message.TryGetProperty("role"u8, out var role) || role.ValueKind != JsonValueKind.String
                    || !message.TryGetProperty("content"u8, out var content))
                {
                    return MessagesErrors.Invalid(Path("messages", index), "Input should be a message with a role and content");
                }

                // A system turn inside the conversation (a beta Claude Code uses) is a system message where it stands.
                var error = role.ValueEquals("user"u8) ? WriteUser(content, index)
                    : role.ValueEquals("assistant"u8) ? WriteAssistant(content, index)
                    : role.ValueEquals("system"u8) ? WriteSystem(content, Path("messages", index) + ".content")
                    : MessagesErrors.Invalid(Path("messages", index) + ".role", "Input should be 'user', 'assistant' or 'system'");
                if (error is not null)
                {
                    return error;
                }

                index++;
            }

            return null;
        }

        // Tool results first, each as a tool message (OpenAI wants them right after the assistant's tool_calls), then
        // the turn's other blocks, with any images the results held, as one user message.
        private ProxyError? WriteUser(JsonElement content, int message)
        {
            if (content.ValueKind == JsonValueKind.String)
            {
                WriteMessageStart("user"u8);
                writer.WritePropertyName("content"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(content), skipInputValidation: true);
                WriteMessageEnd();
                return null;
            }

            if (content.ValueKind != JsonValueKind.Array)
            {
                return ContentNotAList(message);
            }

            var parts = 0;
            var index = 0;
            foreach (var block in content.EnumerateArray())
            {
                var kind = KindOf(block);
                switch (kind)
                {
                    case Kind.ToolResult:
                        var error = WriteToolMessage(block, message, index, ref parts);
                        if (error is not null)
                        {
                            return error;
                        }

                        break;
                    case Kind.Text or Kind.Image or Kind.Document:
                        parts++;
                        break;
                    case Kind.Thinking:
                        break;
                    default:
                        return Unsupported(block, message, index);
                }

                index++;
            }

            if (parts == 0)
            {
                return null;
            }

            WriteMessageStart("user"u8);
            writer.WritePropertyName("content"u8);
            if (parts == 1 && TheOnlyText(content) is { } only)
            {
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(only), skipInputValidation: true);
                WriteMessageEnd();
                return null;
            }

            writer.WriteStartArray();
            index = 0;
            foreach (var block in content.EnumerateArray())
            {
                var kind = KindOf(block);
                var error = kind == Kind.ToolResult ? WriteResultImages(block, message, index)
                    : kind is Kind.Text or Kind.Image or Kind.Document ? WritePart(block, kind, Block(message, index))
                    : null;
                if (error is not null)
                {
                    return error;
                }

                index++;
            }

            writer.WriteEndArray();
            WriteMessageEnd();
            return null;
        }

        // The one part of a user message, when it is a text block: it goes as string content, the form every server
        // takes. (Tool results were written before; one that held an image is the one part itself.)
        private static JsonElement? TheOnlyText(JsonElement content)
        {
            foreach (var block in content.EnumerateArray())
            {
                var kind = KindOf(block);
                if (kind == Kind.Text)
                {
                    return block.TryGetProperty("text"u8, out var text) && text.ValueKind == JsonValueKind.String ? text : null;
                }

                if (kind is not (Kind.Thinking or Kind.ToolResult))
                {
                    return null;
                }
            }

            return null;
        }

        private ProxyError? WriteToolMessage(JsonElement block, int message, int index, ref int images)
        {
            if (!block.TryGetProperty("tool_use_id"u8, out var id) || id.ValueKind != JsonValueKind.String)
            {
                return MessagesErrors.Invalid(Block(message, index) + ".tool_use_id", "Input should be a valid string");
            }

            var failed = false;
            if (block.TryGetProperty("is_error"u8, out var isError))
            {
                if (isError.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                {
                    return MessagesErrors.Invalid(Block(message, index) + ".is_error", "Input should be a valid boolean");
                }

                failed = isError.ValueKind == JsonValueKind.True;
            }

            block.TryGetProperty("content"u8, out var content);
            var texts = 0;
            if (content.ValueKind == JsonValueKind.Array)
            {
                var part = 0;
                foreach (var inner in content.EnumerateArray())
                {
                    var kind = KindOf(inner);
                    if (kind == Kind.Image)
                    {
                        images++;
                    }
                    else if (kind == Kind.Text || (kind == Kind.Document && IsTextDocument(inner)))
                    {
                        texts++;
                    }
                    else
                    {
                        return Unsupported(inner, message, index, part);
                    }

                    part++;
                }
            }
            else if (content.ValueKind is not (JsonValueKind.String or JsonValueKind.Undefined or JsonValueKind.Null))
            {
                return MessagesErrors.Invalid(Block(message, index) + ".content", "Input should be a string or a list of content blocks");
            }

            WriteMessageStart("tool"u8);
            writer.WritePropertyName("tool_call_id"u8);
            writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(id), skipInputValidation: true);
            writer.WritePropertyName("content"u8);
            var prefix = failed ? ErrorPrefix : default;
            if (content.ValueKind == JsonValueKind.String)
            {
                if (failed)
                {
                    _scratch.ResetWrittenCount();
                    _scratch.Write("\""u8);
                    _scratch.Write(prefix);
                    _scratch.Write(Inner(content));
                    _scratch.Write("\""u8);
                    writer.WriteRawValue(_scratch.WrittenSpan, skipInputValidation: true);
                }
                else
                {
                    writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(content), skipInputValidation: true);
                }
            }
            else if (texts > 0)
            {
                WriteJoinedTexts(content, withDocuments: true, prefix);
            }
            else
            {
                // An empty result still answers its call; OpenAI requires the content field.
                writer.WriteStringValue(failed ? "Error"u8 : ""u8);
            }

            WriteMessageEnd();
            return null;
        }

        private ProxyError? WriteResultImages(JsonElement block, int message, int index)
        {
            if (!block.TryGetProperty("content"u8, out var content) || content.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var part = 0;
            foreach (var inner in content.EnumerateArray())
            {
                if (KindOf(inner) == Kind.Image)
                {
                    var error = WritePart(inner, Kind.Image, Path(Block(message, index) + ".content", part));
                    if (error is not null)
                    {
                        return error;
                    }
                }

                part++;
            }

            return null;
        }

        private ProxyError? WritePart(JsonElement block, Kind kind, string path)
        {
            switch (kind)
            {
                case Kind.Text:
                    if (!block.TryGetProperty("text"u8, out var text) || text.ValueKind != JsonValueKind.String)
                    {
                        return MessagesErrors.Invalid(path + ".text", "Input should be a valid string");
                    }

                    WriteTextPart(text);
                    return null;
                case Kind.Document:
                    if (!IsTextDocument(block))
                    {
                        return MessagesErrors.NotTranslatable(path, "A document other than plain text (source type 'text')");
                    }

                    WriteTextPart(block.GetProperty("source"u8).GetProperty("data"u8));
                    return null;
                default:
                    return WriteImagePart(block, path);
            }
        }

        private void WriteTextPart(JsonElement text)
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "text"u8);
            writer.WritePropertyName("text"u8);
            writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(text), skipInputValidation: true);
            writer.WriteEndObject();
        }

        // base64 → a data URL assembled from the raw (escaped) JSON of media_type and data, which is itself valid JSON
        // string content; url → that url.
        private ProxyError? WriteImagePart(JsonElement block, string path)
        {
            if (!block.TryGetProperty("source"u8, out var source) || source.ValueKind != JsonValueKind.Object)
            {
                return MessagesErrors.Required(path + ".source");
            }

            if (!source.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String)
            {
                return MessagesErrors.Required(path + ".source.type");
            }

            writer.WriteStartObject();
            writer.WriteString("type"u8, "image_url"u8);
            writer.WriteStartObject("image_url"u8);
            writer.WritePropertyName("url"u8);
            if (type.ValueEquals("base64"u8))
            {
                if (!source.TryGetProperty("media_type"u8, out var mediaType) || mediaType.ValueKind != JsonValueKind.String)
                {
                    return MessagesErrors.Required(path + ".source.media_type");
                }

                if (!source.TryGetProperty("data"u8, out var data) || data.ValueKind != JsonValueKind.String)
                {
                    return MessagesErrors.Required(path + ".source.data");
                }

                _scratch.ResetWrittenCount();
                _scratch.Write("\"data:"u8);
                _scratch.Write(Inner(mediaType));
                _scratch.Write(";base64,"u8);
                _scratch.Write(Inner(data));
                _scratch.Write("\""u8);
                writer.WriteRawValue(_scratch.WrittenSpan, skipInputValidation: true);
            }
            else if (type.ValueEquals("url"u8))
            {
                if (!source.TryGetProperty("url"u8, out var url) || url.ValueKind != JsonValueKind.String)
                {
                    return MessagesErrors.Required(path + ".source.url");
                }

                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(url), skipInputValidation: true);
            }
            else
            {
                return MessagesErrors.NotTranslatable(path + ".source", $"An image with source type '{type.GetString()}'");
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            return null;
        }

        private static bool IsTextDocument(JsonElement block) =>
            block.TryGetProperty("source"u8, out var source) && source.ValueKind == JsonValueKind.Object
            && source.TryGetProperty("type"u8, out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("text"u8)
            && source.TryGetProperty("data"u8, out var data) && data.ValueKind == JsonValueKind.String;

        // Texts joined into content; tool_use blocks become tool_calls; thinking is dropped (no OpenAI form for a
        // signed reasoning trace). A turn left with nothing is left out.
        private ProxyError? WriteAssistant(JsonElement content, int message)
        {
            if (content.ValueKind == JsonValueKind.String)
            {
                WriteMessageStart("assistant"u8);
                writer.WritePropertyName("content"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(content), skipInputValidation: true);
                WriteMessageEnd();
                return null;
            }

            if (content.ValueKind != JsonValueKind.Array)
            {
                return ContentNotAList(message);
            }

            var texts = 0;
            var calls = 0;
            var index = 0;
            foreach (var block in content.EnumerateArray())
            {
                switch (KindOf(block))
                {
                    case Kind.Text:
                        if (!block.TryGetProperty("text"u8, out var text) || text.ValueKind != JsonValueKind.String)
                        {
                            return MessagesErrors.Invalid(Block(message, index) + ".text", "Input should be a valid string");
                        }

                        texts++;
                        break;
                    case Kind.ToolUse:
                        var error = CheckToolUse(block, message, index);
                        if (error is not null)
                        {
                            return error;
                        }

                        calls++;
                        break;
                    case Kind.Thinking:
                        break;
                    default:
                        return Unsupported(block, message, index);
                }

                index++;
            }

            if (texts + calls == 0)
            {
                return null;
            }

            WriteMessageStart("assistant"u8);
            writer.WritePropertyName("content"u8);
            if (texts > 0)
            {
                WriteJoinedTexts(content, withDocuments: false);
            }
            else
            {
                writer.WriteNullValue();
            }

            if (calls > 0)
            {
                writer.WriteStartArray("tool_calls"u8);
                foreach (var block in content.EnumerateArray())
                {
                    if (KindOf(block) == Kind.ToolUse)
                    {
                        WriteToolCall(block);
                    }
                }

                writer.WriteEndArray();
            }

            WriteMessageEnd();
            return null;
        }

        private static ProxyError? CheckToolUse(JsonElement block, int message, int index)
        {
            if (!block.TryGetProperty("id"u8, out var id) || id.ValueKind != JsonValueKind.String)
            {
                return MessagesErrors.Invalid(Block(message, index) + ".id", "Input should be a valid string");
            }

            if (!block.TryGetProperty("name"u8, out var name) || name.ValueKind != JsonValueKind.String)
            {
                return MessagesErrors.Invalid(Block(message, index) + ".name", "Input should be a valid string");
            }

            return block.TryGetProperty("input"u8, out var input) && input.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null)
                ? MessagesErrors.Invalid(Block(message, index) + ".input", "Input should be an object")
                : null;
        }

        private void WriteToolCall(JsonElement block)
        {
            writer.WriteStartObject();
            writer.WritePropertyName("id"u8);
            writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(block.GetProperty("id"u8)), skipInputValidation: true);
            writer.WriteString("type"u8, "function"u8);
            writer.WriteStartObject("function"u8);
            writer.WritePropertyName("name"u8);
            writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(block.GetProperty("name"u8)), skipInputValidation: true);
            // OpenAI's arguments are the input object as JSON text, compact as a model would have written it.
            _scratch.ResetWrittenCount();
            if (block.TryGetProperty("input"u8, out var input) && input.ValueKind == JsonValueKind.Object)
            {
                using var compact = new Utf8JsonWriter(_scratch, WriterOptions);
                input.WriteTo(compact);
            }
            else
            {
                _scratch.Write("{}"u8);
            }

            writer.WriteString("arguments"u8, _scratch.WrittenSpan);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        // ---- parameters ----

        private ProxyError? WriteNumber(ReadOnlySpan<byte> name, string field, JsonElement value)
        {
            if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.Number)
            {
                return MessagesErrors.Invalid(field, "Input should be a valid number");
            }

            writer.WritePropertyName(name);
            writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(value), skipInputValidation: true);
            return null;
        }

        private ProxyError? WriteStop(JsonElement stop)
        {
            if (stop.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                return null;
            }

            if (stop.ValueKind != JsonValueKind.Array)
            {
                return MessagesErrors.Invalid("stop_sequences", "Input should be a valid list");
            }

            var index = 0;
            foreach (var entry in stop.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.String)
                {
                    return MessagesErrors.Invalid(Path("stop_sequences", index), "Input should be a valid string");
                }

                index++;
            }

            if (index > MaxStopSequences)
            {
                // Keeping some would change where the answer ends.
                return MessagesErrors.NotTranslatable("stop_sequences", $"More than {MaxStopSequences} stop sequences");
            }

            if (index > 0)
            {
                writer.WritePropertyName("stop"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(stop), skipInputValidation: true);
            }

            return null;
        }

        private ProxyError? WriteUser(JsonElement metadata)
        {
            if (metadata.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                return null;
            }

            if (metadata.ValueKind != JsonValueKind.Object)
            {
                return MessagesErrors.Invalid("metadata", "Input should be an object");
            }

            if (!metadata.TryGetProperty("user_id"u8, out var user) || user.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            // Short raw bytes are a short string; only a longer one is decoded to count its characters.
            var raw = JsonMarshal.GetRawUtf8Value(user);
            var id = raw.Length - 2 <= MaxUserLength ? null : user.GetString()!;
            if (id is null || id.Length <= MaxUserLength)
            {
                writer.WritePropertyName("user"u8);
                writer.WriteRawValue(raw, skipInputValidation: true);
                return null;
            }

            // Claude Code's id is user_<64 hex>_account_<uuid>_session_<uuid>: its hash is as stable per user, and fits.
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(Encoding.UTF8.GetBytes(id), hash);
            writer.WriteString("user"u8, Convert.ToHexStringLower(hash));
            return null;
        }

        // ---- tools ----

        private ProxyError? WriteTools(JsonElement tools, JsonElement toolChoice)
        {
            if (tools.ValueKind != JsonValueKind.Array || tools.GetArrayLength() == 0)
            {
                // No tools: nothing to choose from either (OpenAI refuses a tool_choice without tools).
                return null;
            }

            var index = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                var error = CheckTool(tool, index);
                if (error is not null)
                {
                    return error;
                }

                index++;
            }

            var choice = ReadToolChoice(toolChoice, out var choiceType, out var choiceName, out var serial);
            if (choice is not null)
            {
                return choice;
            }

            writer.WriteStartArray("tools"u8);
            foreach (var tool in tools.EnumerateArray())
            {
                writer.WriteStartObject();
                writer.WriteString("type"u8, "function"u8);
                writer.WriteStartObject("function"u8);
                writer.WritePropertyName("name"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(tool.GetProperty("name"u8)), skipInputValidation: true);
                if (tool.TryGetProperty("description"u8, out var description) && description.ValueKind == JsonValueKind.String)
                {
                    writer.WritePropertyName("description"u8);
                    writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(description), skipInputValidation: true);
                }

                writer.WritePropertyName("parameters"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(tool.GetProperty("input_schema"u8)), skipInputValidation: true);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            if (choiceType.IsEmpty)
            {
                if (serial)
                {
                    writer.WriteBoolean("parallel_tool_calls"u8, false);
                }

                return null;
            }

            if (choiceName.ValueKind == JsonValueKind.String)
            {
                writer.WriteStartObject("tool_choice"u8);
                writer.WriteString("type"u8, "function"u8);
                writer.WriteStartObject("function"u8);
                writer.WritePropertyName("name"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(choiceName), skipInputValidation: true);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteString("tool_choice"u8, choiceType);
            }

            // "none" calls no tool at all: no parallelism to switch off.
            if (serial && !choiceType.SequenceEqual("none"u8))
            {
                writer.WriteBoolean("parallel_tool_calls"u8, false);
            }

            return null;
        }

        private static ProxyError? CheckTool(JsonElement tool, int index)
        {
            var path = Path("tools", index);
            if (tool.ValueKind != JsonValueKind.Object)
            {
                return MessagesErrors.Invalid(path, "Input should be an object");
            }

            var hasSchema = tool.TryGetProperty("input_schema"u8, out var schema);
            if (tool.TryGetProperty("type"u8, out var type) && type.ValueKind == JsonValueKind.String && !type.ValueEquals("custom"u8) && !hasSchema)
            {
                // web_search, bash, text_editor, code_execution, ...: run by Anthropic's servers or trained into its
                // models, with no schema a function could carry.
                return MessagesErrors.NotTranslatable(path, $"The Anthropic server tool '{type.GetString()}'");
            }

            if (!tool.TryGetProperty("name"u8, out var name) || name.ValueKind != JsonValueKind.String)
            {
                return MessagesErrors.Required(path + ".name");
            }

            if (tool.TryGetProperty("description"u8, out var description) && description.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                return MessagesErrors.Invalid(path + ".description", "Input should be a valid string");
            }

            if (!hasSchema)
            {
                return MessagesErrors.Required(path + ".input_schema");
            }

            return schema.ValueKind == JsonValueKind.Object ? null : MessagesErrors.Invalid(path + ".input_schema", "Input should be an object");
        }

        // auto → "auto", any → "required", none → "none", tool → the named function; disable_parallel_tool_use → serial.
        private static ProxyError? ReadToolChoice(JsonElement toolChoice, out ReadOnlySpan<byte> type, out JsonElement name, out bool serial)
        {
            type = default;
            name = default;
            serial = false;
            if (toolChoice.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                return null;
            }

            if (toolChoice.ValueKind != JsonValueKind.Object)
            {
                return MessagesErrors.Invalid("tool_choice", "Input should be an object");
            }

            if (toolChoice.TryGetProperty("disable_parallel_tool_use"u8, out var disable))
            {
                if (disable.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                {
                    return MessagesErrors.Invalid("tool_choice.disable_parallel_tool_use", "Input should be a valid boolean");
                }

                serial = disable.ValueKind == JsonValueKind.True;
            }

            if (!toolChoice.TryGetProperty("type"u8, out var kind) || kind.ValueKind != JsonValueKind.String)
            {
                return MessagesErrors.Required("tool_choice.type");
            }

            if (kind.ValueEquals("auto"u8))
            {
                type = "auto"u8;
            }
            else if (kind.ValueEquals("any"u8))
            {
                type = "required"u8;
            }
            else if (kind.ValueEquals("none"u8))
            {
                type = "none"u8;
            }
            else if (kind.ValueEquals("tool"u8))
            {
                if (!toolChoice.TryGetProperty("name"u8, out name) || name.ValueKind != JsonValueKind.String)
                {
                    return MessagesErrors.Required("tool_choice.name");
                }

                type = "function"u8;
            }
            else
            {
                return MessagesErrors.Invalid("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'");
            }

            return null;
        }

        // ---- helpers ----

        private void WriteMessageStart(ReadOnlySpan<byte> role)
        {
            writer.WriteStartObject();
            writer.WriteString("role"u8, role);
            _messages++;
        }

        private void WriteMessageEnd() => writer.WriteEndObject();

        /// <summary>
        /// The text blocks of <paramref name="blocks"/> as one JSON string, joined with a blank line: the raw escaped
        /// contents are concatenated, which is valid string content as it is, so nothing is decoded.
        /// </summary>
        /// <param name="withDocuments">Plain-text documents count as text too (inside a tool result).</param>
        /// <param name="prefix">Written before the first text, as JSON string content.</param>
        private void WriteJoinedTexts(JsonElement blocks, bool withDocuments, ReadOnlySpan<byte> prefix = default)
        {
            _scratch.ResetWrittenCount();
            _scratch.Write("\""u8);
            _scratch.Write(prefix);
            var first = true;
            foreach (var block in blocks.EnumerateArray())
            {
                if (TextOf(block, withDocuments) is not { } text)
                {
                    continue;
                }

                if (!first)
                {
                    _scratch.Write(Separator);
                }

                _scratch.Write(Inner(text));
                first = false;
            }

            _scratch.Write("\""u8);
            writer.WriteRawValue(_scratch.WrittenSpan, skipInputValidation: true);
        }

        private static JsonElement? TextOf(JsonElement block, bool withDocuments) => KindOf(block) switch
        {
            Kind.Text when block.TryGetProperty("text"u8, out var text) && text.ValueKind == JsonValueKind.String => text,
            Kind.Document when withDocuments && IsTextDocument(block) => block.GetProperty("source"u8).GetProperty("data"u8),
            _ => null,
        };

        private static ReadOnlySpan<byte> Inner(JsonElement text) => JsonMarshal.GetRawUtf8Value(text)[1..^1];

        private static string Block(int message, int index) => Path(Path("messages", message) + ".content", index);

        private static ProxyError ContentNotAList(int message) =>
            MessagesErrors.Invalid(Path("messages", message) + ".content", "Input should be a string or a list of content blocks");

        private static ProxyError Unsupported(JsonElement block, int message, int index, int inner = -1)
        {
            var path = inner < 0 ? Block(message, index) : Path(Block(message, index) + ".content", inner);
            var type = block.ValueKind == JsonValueKind.Object && block.TryGetProperty("type"u8, out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString()
                : null;
            return type is null
                ? MessagesErrors.Invalid(path, "Input should be a content block with a 'type'")
                : MessagesErrors.NotTranslatable(path, $"A '{type}' content block here");
        }
    }
}
