using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Roxy.Api.Errors;
using Roxy.Api.Proxy;

namespace Roxy.Api.Providers.Anthropic;

/// <summary>
/// Translates an OpenAI chat completions body into an Anthropic Messages body, by the rules in the README's
/// "Anthropic translation" section. One <see cref="JsonDocument"/> over the client's bytes; texts, schemas and
/// image data are copied as raw JSON, never decoded, except where a rule needs to look inside.
/// </summary>
public static class AnthropicRequestTranslator
{
    // The byte strings OpenAI puts in front of inline data.
    private static ReadOnlySpan<byte> DataPrefix => "data:"u8;
    private static ReadOnlySpan<byte> Base64Marker => ";base64,"u8;

    private static readonly string[] ImageMediaTypes = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The body goes to an API, not into HTML: no \u002B for every '+' of an image's base64.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = ChatRequestReader.MaxDepth + 8,
    };

    /// <summary>
    /// The Anthropic body for <paramref name="openAiBody"/> (already checked by <see cref="ChatRequestReader"/>),
    /// addressed to <paramref name="model"/>; a 400 in OpenAI's shape, and no body, for what Anthropic cannot express.
    /// </summary>
    public static ProxyError? Translate(ReadOnlySpan<byte> openAiBody, ChatRequestInfo info, string model, out PooledBuffer? body, int? defaultMaxTokens = null)
    {
        body = null;
        // Raw texts are copied unchecked below: the document is only had for bytes checked as UTF-8.
        if (!RequestDocument.TryParse(openAiBody, out var document, out var invalid))
        {
            return invalid;
        }

        using (document)
        {
            var request = new Request(model, info, defaultMaxTokens);
            var buffer = new PooledBuffer(openAiBody.Length + 256);
            try
            {
                var error = request.Read(document.RootElement);
                if (error is not null)
                {
                    buffer.Dispose();
                    return error;
                }

                using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
                {
                    request.Write(writer);
                }

                body = buffer;
                return null;
            }
            catch (InvalidOperationException)
            {
                // A string escape that is no Unicode (a lone surrogate such as "\ud800") is valid JSON, and only turns
                // up when a string is decoded: the client's request, not a failure of Roxy's.
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

    /// <summary>The request as read: the parts of the client's document that go on, grouped into Anthropic turns.</summary>
    private sealed class Request(string model, ChatRequestInfo info, int? defaultMaxTokens)
    {
        private readonly List<Block> _system = [];
        private readonly List<Turn> _turns = [];
        private JsonElement _stop;
        private JsonElement _temperature;
        private JsonElement _topP;
        private JsonElement _topK;
        private JsonElement _user;
        private JsonElement _tools;
        private JsonElement _toolChoice;
        private bool _disableParallelToolUse;
        private JsonElement _messages;

        public ProxyError? Read(JsonElement root)
        {
            JsonElement safetyIdentifier = default;
            foreach (var member in root.EnumerateObject())
            {
                var value = member.Value;
                if (value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                // Members not named here (response_format, seed, logprobs, stream_options, ...) are dropped:
                // Anthropic answers 400 to fields it does not know. The README lists them.
                switch (member.Name)
                {
                    case "messages":
                        _messages = value;
                        break;
                    case "stop":
                        _stop = value;
                        break;
                    case "temperature":
                        _temperature = value;
                        break;
                    case "top_p":
                        _topP = value;
                        break;
                    case "top_k":
                        _topK = value;
                        break;
                    case "user":
                        _user = value;
                        break;
                    case "safety_identifier":
                        safetyIdentifier = value;
                        break;
                    case "tools":
                        _tools = value;
                        break;
                    case "tool_choice":
                        _toolChoice = value;
                        break;
                    case "parallel_tool_calls":
                        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                        {
                            return ProxyError.InvalidRequest("'parallel_tool_calls' must be a boolean.", "parallel_tool_calls");
                        }

                        _disableParallelToolUse = value.ValueKind == JsonValueKind.False;
                        break;
                    case "n":
                        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var n) || n < 1)
                        {
                            return ProxyError.InvalidRequest("'n' must be an integer of at least 1.", "n");
                        }

                        if (n > 1)
                        {
                            return ProxyError.InvalidRequest(
                                $"Anthropic models return one choice per request; 'n' must be 1 for '{model}'.", "n");
                        }

                        break;
                    case "functions" or "function_call":
                        // Dropping them would answer without the functions the client relies on.
                        return ProxyError.InvalidRequest(
                            $"'{member.Name}' is deprecated and not translated for Anthropic models; send 'tools' and 'tool_choice' instead.", member.Name);
                }
            }

            if (_user.ValueKind == JsonValueKind.Undefined)
            {
                _user = safetyIdentifier;
            }

            return CheckParameters() ?? ReadTools() ?? ReadMessages() ?? PairToolCalls() ?? FinishTurns();
        }

        private ProxyError? CheckParameters()
        {
            if (_temperature.ValueKind != JsonValueKind.Undefined
                && (_temperature.ValueKind != JsonValueKind.Number || _temperature.GetDouble() is < 0 or > 2))
            {
                return ProxyError.InvalidRequest("'temperature' must be a number from 0 to 2.", "temperature");
            }

            if (_topP.ValueKind != JsonValueKind.Undefined && (_topP.ValueKind != JsonValueKind.Number || _topP.GetDouble() is < 0 or > 1))
            {
                return ProxyError.InvalidRequest("'top_p' must be a number from 0 to 1.", "top_p");
            }

            if (_topK.ValueKind != JsonValueKind.Undefined && (_topK.ValueKind != JsonValueKind.Number || !_topK.TryGetInt32(out var k) || k < 0))
            {
                return ProxyError.InvalidRequest("'top_k' must be a non-negative integer.", "top_k");
            }

            if (_user.ValueKind != JsonValueKind.Undefined
                && (_user.ValueKind != JsonValueKind.String || _user.GetString()!.Length > MaxUserIdLength))
            {
                return ProxyError.InvalidRequest($"'user' must be a string of at most {MaxUserIdLength} characters.", "user");
            }

            if (_stop.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.String))
            {
                if (_stop.ValueKind != JsonValueKind.Array)
                {
                    return ProxyError.InvalidRequest("'stop' must be a string or an array of strings.", "stop");
                }

                foreach (var entry in _stop.EnumerateArray())
                {
                    if (entry.ValueKind != JsonValueKind.String)
                    {
                        return ProxyError.InvalidRequest("'stop' must be a string or an array of strings.", "stop");
                    }
                }
            }

            return null;
        }

        private ProxyError? ReadTools()
        {
            if (_tools.ValueKind == JsonValueKind.Undefined)
            {
                return null;
            }

            if (_tools.ValueKind != JsonValueKind.Array)
            {
                return ProxyError.InvalidRequest("'tools' must be an array.", "tools");
            }

            var index = 0;
            foreach (var tool in _tools.EnumerateArray())
            {
                var param = $"tools[{index}]";
                if (tool.ValueKind != JsonValueKind.Object
                    || !tool.TryGetProperty("type"u8, out var type) || !type.ValueEquals("function"u8)
                    || !tool.TryGetProperty("function"u8, out var function) || function.ValueKind != JsonValueKind.Object)
                {
                    return ProxyError.InvalidRequest(
                        $"'{param}' must be {{\"type\":\"function\",\"function\":{{...}}}}; only function tools translate to Anthropic.", param);
                }

                if (!function.TryGetProperty("name"u8, out var name) || name.ValueKind != JsonValueKind.String || IsBlank(name))
                {
                    return ProxyError.InvalidRequest($"'{param}.function.name' is required.", $"{param}.function.name");
                }

                if (function.TryGetProperty("description"u8, out var description) && description.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                {
                    return ProxyError.InvalidRequest($"'{param}.function.description' must be a string.", $"{param}.function.description");
                }

                if (function.TryGetProperty("parameters"u8, out var parameters) && parameters.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                {
                    return ProxyError.InvalidRequest($"'{param}.function.parameters' must be a JSON Schema object.", $"{param}.function.parameters");
                }

                index++;
            }

            if (index == 0)
            {
                // No tools: nothing to choose from either (Anthropic refuses a tool_choice without tools).
                _tools = default;
                _toolChoice = default;
                return null;
            }

            if (_toolChoice.ValueKind == JsonValueKind.String)
            {
                if (!(_toolChoice.ValueEquals("auto"u8) || _toolChoice.ValueEquals("required"u8) || _toolChoice.ValueEquals("none"u8)))
                {
                    return ProxyError.InvalidRequest("'tool_choice' must be \"auto\", \"required\", \"none\" or a named function.", "tool_choice");
                }
            }
            else if (_toolChoice.ValueKind != JsonValueKind.Undefined
                     && (_toolChoice.ValueKind != JsonValueKind.Object
                         || !_toolChoice.TryGetProperty("type"u8, out var choiceType) || !choiceType.ValueEquals("function"u8)
                         || !_toolChoice.TryGetProperty("function"u8, out var chosen) || chosen.ValueKind != JsonValueKind.Object
                         || !chosen.TryGetProperty("name"u8, out var chosenName) || chosenName.ValueKind != JsonValueKind.String))
            {
                return ProxyError.InvalidRequest(
                    "'tool_choice' must be \"auto\", \"required\", \"none\" or {\"type\":\"function\",\"function\":{\"name\":...}}.", "tool_choice");
            }

            return null;
        }

        private ProxyError? ReadMessages()
        {
            if (_messages.ValueKind != JsonValueKind.Array)
            {
                return ProxyError.InvalidRequest("'messages' must be an array.", "messages");
            }

            var index = 0;
            foreach (var message in _messages.EnumerateArray())
            {
                var param = new Where(index);
                if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role"u8, out var role) || role.ValueKind != JsonValueKind.String)
                {
                    return ProxyError.InvalidRequest($"'{param}.role' is required.", $"{param}.role");
                }

                message.TryGetProperty("content"u8, out var content);
                ProxyError? error;
                if (role.ValueEquals("system"u8) || role.ValueEquals("developer"u8))
                {
                    error = ReadContent(content, param, _system, PartsAllowed.Text);
                }
                else if (role.ValueEquals("user"u8))
                {
                    error = ReadContent(content, param, Open(assistant: false).Blocks, PartsAllowed.Text | PartsAllowed.Media);
                }
                else if (role.ValueEquals("assistant"u8))
                {
                    var blocks = Open(assistant: true).Blocks;
                    error = ReadContent(content, param, blocks, PartsAllowed.Text | PartsAllowed.Refusal)
                            ?? ReadToolCalls(message, param, blocks, index);
                }
                else if (role.ValueEquals("tool"u8))
                {
                    error = ReadToolResult(message, content, param, Open(assistant: false).Blocks, index);
                }
                else
                {
                    error = ProxyError.InvalidRequest(
                        $"'{param}.role' must be one of system, developer, user, assistant or tool.", $"{param}.role");
                }

                if (error is not null)
                {
                    return error;
                }

                // A message left with no content is dropped; its neighbours of one role then merge.
                if (_turns.Count > 0 && _turns[^1].Blocks.Count == 0)
                {
                    _turns.RemoveAt(_turns.Count - 1);
                }

                index++;
            }

            return null;
        }

        // The turn a message's blocks go into: the last one when it has the same role (Anthropic wants
        // user and assistant to alternate), else a new one.
        private Turn Open(bool assistant)
        {
            if (_turns.Count > 0 && _turns[^1].Assistant == assistant)
            {
                return _turns[^1];
            }

            var turn = new Turn(assistant);
            _turns.Add(turn);
            return turn;
        }

        private static ProxyError? ReadContent(JsonElement content, Where param, List<Block> blocks, PartsAllowed allowed)
        {
            switch (content.ValueKind)
            {
                case JsonValueKind.Undefined or JsonValueKind.Null:
                    return null;
                case JsonValueKind.String:
                    if (!IsBlank(content))
                    {
                        blocks.Add(new Block(BlockKind.Text, content));
                    }

                    return null;
                case JsonValueKind.Array:
                    break;
                default:
                    return ProxyError.InvalidRequest($"'{param}.content' must be a string or an array of content parts.", $"{param}.content");
            }

            var index = 0;
            foreach (var part in content.EnumerateArray())
            {
                var partParam = param with { Part = index };
                var error = ReadPart(part, partParam, blocks, allowed);
                if (error is not null)
                {
                    return error;
                }

                index++;
            }

            return null;
        }

        private static ProxyError? ReadPart(JsonElement part, Where param, List<Block> blocks, PartsAllowed allowed)
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String)
            {
                return ProxyError.InvalidRequest($"'{param}' must be a content part object with a 'type'.", param.ToString());
            }

            part.TryGetProperty("cache_control"u8, out var cacheControl);
            if (type.ValueEquals("text"u8) || (type.ValueEquals("refusal"u8) && allowed.HasFlag(PartsAllowed.Refusal)))
            {
                var field = type.ValueEquals("text"u8) ? "text" : "refusal";
                if (!part.TryGetProperty(field, out var text) || text.ValueKind != JsonValueKind.String)
                {
                    return ProxyError.InvalidRequest($"'{param}.{field}' must be a string.", $"{param}.{field}");
                }

                if (!IsBlank(text))
                {
                    blocks.Add(new Block(BlockKind.Text, text) { CacheControl = cacheControl });
                }

                return null;
            }

            if (allowed.HasFlag(PartsAllowed.Media) && type.ValueEquals("image_url"u8))
            {
                return ReadImage(part, param, blocks, cacheControl);
            }

            if (allowed.HasFlag(PartsAllowed.Media) && type.ValueEquals("file"u8))
            {
                return ReadFile(part, param, blocks, cacheControl);
            }

            var what = type.ValueEquals("input_audio"u8) ? "Audio input ('input_audio')" : $"A content part of type '{type.GetString()}'";
            var where = allowed.HasFlag(PartsAllowed.Media) ? ""
                : allowed.HasFlag(PartsAllowed.Refusal) ? " in an assistant message"
                : allowed.HasFlag(PartsAllowed.ToolResult) ? " in a tool message"
                : " in a system message";
            return ProxyError.InvalidRequest($"{what}{where} cannot be sent to Anthropic models.", param.ToString());
        }

        private static ProxyError? ReadImage(JsonElement part, Where param, List<Block> blocks, JsonElement cacheControl)
        {
            JsonElement url = default;
            if (part.TryGetProperty("image_url"u8, out var imageUrl))
            {
                // The object form is OpenAI's; a bare string is accepted by OpenAI too.
                url = imageUrl.ValueKind == JsonValueKind.Object && imageUrl.TryGetProperty("url"u8, out var inner) ? inner : imageUrl;
            }

            if (url.ValueKind != JsonValueKind.String)
            {
                return ProxyError.InvalidRequest($"'{param}.image_url.url' must be a string.", $"{param}.image_url.url");
            }

            var bytes = Utf8Of(url);
            if (bytes.StartsWith(DataPrefix))
            {
                var error = ReadDataUrl(bytes, $"{param}.image_url.url", ImageMediaTypes, out var mediaType);
                if (error is not null)
                {
                    return error;
                }

                blocks.Add(new Block(BlockKind.Image, url) { MediaType = mediaType, CacheControl = cacheControl });
                return null;
            }

            if (!bytes.StartsWith("https://"u8))
            {
                return ProxyError.InvalidRequest(
                    "Anthropic models take images as https URLs or base64 data URLs (data:image/png;base64,...); this URL is neither.",
                    $"{param}.image_url.url");
            }

            blocks.Add(new Block(BlockKind.ImageUrl, url) { CacheControl = cacheControl });
            return null;
        }

        private static ProxyError? ReadFile(JsonElement part, Where param, List<Block> blocks, JsonElement cacheControl)
        {
            if (!part.TryGetProperty("file"u8, out var file) || file.ValueKind != JsonValueKind.Object)
            {
                return ProxyError.InvalidRequest($"'{param}.file' must be an object.", $"{param}.file");
            }

            if (!file.TryGetProperty("file_data"u8, out var data) || data.ValueKind != JsonValueKind.String)
            {
                return ProxyError.InvalidRequest(
                    "Files uploaded to OpenAI ('file_id') cannot be sent to Anthropic models; send the PDF inline as 'file_data'.", $"{param}.file");
            }

            var error = ReadDataUrl(Utf8Of(data), $"{param}.file.file_data", ["application/pdf"], out var mediaType);
            if (error is not null)
            {
                return error;
            }

            blocks.Add(new Block(BlockKind.Document, data) { MediaType = mediaType, CacheControl = cacheControl });
            return null;
        }

        private static ProxyError? ReadDataUrl(ReadOnlySpan<byte> url, string param, string[] mediaTypes, out string? mediaType)
        {
            mediaType = null;
            var marker = url.IndexOf(Base64Marker);
            if (marker < 0 || !url.StartsWith(DataPrefix))
            {
                return ProxyError.InvalidRequest("Inline data must be a base64 data URL (data:<media type>;base64,<data>).", param);
            }

            var type = url[DataPrefix.Length..marker];
            foreach (var allowed in mediaTypes)
            {
                if (Ascii.EqualsIgnoreCase(type, allowed))
                {
                    mediaType = allowed;
                    return null;
                }
            }

            return ProxyError.InvalidRequest(
                $"The media type '{Encoding.UTF8.GetString(type)}' is not accepted by Anthropic models here; use {string.Join(", ", mediaTypes)}.", param);
        }

        private static ProxyError? ReadToolCalls(JsonElement message, Where param, List<Block> blocks, int messageIndex)
        {
            if (!message.TryGetProperty("tool_calls"u8, out var calls) || calls.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (calls.ValueKind != JsonValueKind.Array)
            {
                return ProxyError.InvalidRequest($"'{param}.tool_calls' must be an array.", $"{param}.tool_calls");
            }

            var index = 0;
            foreach (var call in calls.EnumerateArray())
            {
                var callParam = param with { Call = index };
                if (call.ValueKind != JsonValueKind.Object
                    || (call.TryGetProperty("type"u8, out var type) && !type.ValueEquals("function"u8))
                    || !call.TryGetProperty("function"u8, out var function) || function.ValueKind != JsonValueKind.Object)
                {
                    return ProxyError.InvalidRequest($"'{callParam}' must be a function tool call.", callParam.ToString());
                }

                if (!call.TryGetProperty("id"u8, out var id) || id.ValueKind != JsonValueKind.String)
                {
                    return ProxyError.InvalidRequest($"'{callParam}.id' must be a string.", $"{callParam}.id");
                }

                if (!function.TryGetProperty("name"u8, out var name) || name.ValueKind != JsonValueKind.String)
                {
                    return ProxyError.InvalidRequest($"'{callParam}.function.name' must be a string.", $"{callParam}.function.name");
                }

                string? input = null;
                if (function.TryGetProperty("arguments"u8, out var arguments) && arguments.ValueKind != JsonValueKind.Null)
                {
                    if (arguments.ValueKind != JsonValueKind.String)
                    {
                        return ProxyError.InvalidRequest($"'{callParam}.function.arguments' must be a string of JSON.", $"{callParam}.function.arguments");
                    }

                    // Empty arguments are a call without any: Anthropic's input is then {}.
                    input = IsBlank(arguments) ? null : arguments.GetString();
                    if (input is not null && !IsJsonObject(input))
                    {
                        return ProxyError.InvalidRequest(
                            $"'{callParam}.function.arguments' must be a JSON object; Anthropic takes a tool call's input as an object.",
                            $"{callParam}.function.arguments");
                    }
                }

                blocks.Add(new Block(BlockKind.ToolUse, name) { Id = ToolCallIds.Sanitize(id.GetString()!), Input = input, MessageIndex = messageIndex });
                index++;
            }

            return null;
        }

        private static ProxyError? ReadToolResult(JsonElement message, JsonElement content, Where param, List<Block> blocks, int messageIndex)
        {
            if (!message.TryGetProperty("tool_call_id"u8, out var id) || id.ValueKind != JsonValueKind.String)
            {
                return ProxyError.InvalidRequest($"'{param}.tool_call_id' must be a string.", $"{param}.tool_call_id");
            }

            // The result's own texts, checked as any text; an empty result still answers its call.
            var texts = new List<Block>();
            var error = ReadContent(content, param, texts, PartsAllowed.Text | PartsAllowed.ToolResult);
            if (error is not null)
            {
                return error;
            }

            blocks.Add(new Block(BlockKind.ToolResult, content) { Id = ToolCallIds.Sanitize(id.GetString()!), Results = texts, MessageIndex = messageIndex });
            return null;
        }

        // Anthropic pairs a tool_use with a tool_result in the very next user turn, and refuses either alone.
        private ProxyError? PairToolCalls()
        {
            for (var t = 0; t < _turns.Count; t++)
            {
                var turn = _turns[t];
                if (turn.Assistant)
                {
                    var next = t + 1 < _turns.Count ? _turns[t + 1] : null;
                    for (var b = 0; b < turn.Blocks.Count; b++)
                    {
                        var use = turn.Blocks[b];
                        if (use.Kind != BlockKind.ToolUse)
                        {
                            continue;
                        }

                        for (var other = 0; other < b; other++)
                        {
                            if (turn.Blocks[other].Kind == BlockKind.ToolUse && turn.Blocks[other].Id == use.Id)
                            {
                                return ProxyError.InvalidRequest(
                                    $"Tool call ids must be unique within an assistant turn; '{use.Id}' repeats.", $"messages[{use.MessageIndex}].tool_calls");
                            }
                        }

                        if (next?.Blocks.Exists(r => r.Kind == BlockKind.ToolResult && r.Id == use.Id) != true)
                        {
                            // OpenAI refuses the same history; Anthropic would too.
                            return ProxyError.InvalidRequest(
                                $"An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'; '{use.Id}' has none.",
                                $"messages[{use.MessageIndex}].tool_calls");
                        }
                    }

                    continue;
                }

                var previous = t > 0 ? _turns[t - 1] : null;
                for (var b = 0; b < turn.Blocks.Count; b++)
                {
                    var result = turn.Blocks[b];
                    if (result.Kind != BlockKind.ToolResult)
                    {
                        continue;
                    }

                    var answered = previous?.Blocks.Exists(u => u.Kind == BlockKind.ToolUse && u.Id == result.Id) == true
                                   && !turn.Blocks.Take(b).Any(r => r.Kind == BlockKind.ToolResult && r.Id == result.Id);
                    if (!answered)
                    {
                        // A result for a call that is not in the turn before (a trimmed history, a repeat): kept as
                        // user text, so the model still sees it and Anthropic does not refuse the request.
                        turn.Blocks[b] = result with { Kind = BlockKind.OrphanResult };
                    }
                }
            }

            return null;
        }

        private ProxyError? FinishTurns()
        {
            if (_turns.Count == 0)
            {
                return ProxyError.InvalidRequest(
                    "Anthropic models need at least one user or assistant message with content besides system messages.", "messages");
            }

            if (_turns[0].Assistant)
            {
                // Anthropic's first turn must be the user's; a chat that opens with the assistant's greeting gets a minimal one.
                _turns.Insert(0, new Turn(Assistant: false) { Blocks = { new Block(BlockKind.Placeholder, default) } });
            }

            var last = _turns[^1];
            if (last.Assistant && last.Blocks[^1] is { Kind: BlockKind.Text } final)
            {
                // A final assistant turn is a prefill, and Anthropic refuses one that ends in whitespace.
                var text = final.Element.GetString()!;
                if (char.IsWhiteSpace(text[^1]))
                {
                    last.Blocks[^1] = final with { Kind = BlockKind.TrimmedText, Text = text.TrimEnd() };
                }
            }

            return null;
        }

        public void Write(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteString("model"u8, model);
            writer.WriteNumber("max_tokens"u8, AnthropicModelDefaults.MaxTokensToSend(model, info.MaxTokens ?? defaultMaxTokens));

            if (_system.Count > 0)
            {
                writer.WriteStartArray("system"u8);
                foreach (var block in _system)
                {
                    WriteBlock(writer, block);
                }

                writer.WriteEndArray();
            }

            writer.WriteStartArray("messages"u8);
            foreach (var turn in _turns)
            {
                writer.WriteStartObject();
                writer.WriteString("role"u8, turn.Assistant ? "assistant"u8 : "user"u8);
                writer.WriteStartArray("content"u8);
                // Anthropic wants a user turn's tool results before anything else in it.
                foreach (var block in turn.Blocks)
                {
                    if (block.Kind == BlockKind.ToolResult)
                    {
                        WriteBlock(writer, block);
                    }
                }

                foreach (var block in turn.Blocks)
                {
                    if (block.Kind != BlockKind.ToolResult)
                    {
                        WriteBlock(writer, block);
                    }
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            WriteStop(writer);
            WriteSampling(writer);

            if (_user.ValueKind == JsonValueKind.String)
            {
                writer.WriteStartObject("metadata"u8);
                writer.WritePropertyName("user_id"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(_user), skipInputValidation: true);
                writer.WriteEndObject();
            }

            if (info.Stream)
            {
                writer.WriteBoolean("stream"u8, true);
            }

            WriteTools(writer);
            writer.WriteEndObject();
        }

        private void WriteStop(Utf8JsonWriter writer)
        {
            if (_stop.ValueKind == JsonValueKind.Undefined)
            {
                return;
            }

            var started = false;
            if (_stop.ValueKind == JsonValueKind.String)
            {
                WriteStopSequence(writer, _stop, ref started);
            }
            else
            {
                foreach (var entry in _stop.EnumerateArray())
                {
                    WriteStopSequence(writer, entry, ref started);
                }
            }

            if (started)
            {
                writer.WriteEndArray();
            }
        }

        // Anthropic refuses whitespace-only stop sequences; none left means no stop_sequences at all.
        private static void WriteStopSequence(Utf8JsonWriter writer, JsonElement entry, ref bool started)
        {
            if (IsBlank(entry))
            {
                return;
            }

            if (!started)
            {
                writer.WriteStartArray("stop_sequences"u8);
                started = true;
            }

            writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(entry), skipInputValidation: true);
        }

        private void WriteSampling(Utf8JsonWriter writer)
        {
            if (AnthropicModelDefaults.RejectsSamplingParameters(model))
            {
                return;
            }

            if (_temperature.ValueKind == JsonValueKind.Number)
            {
                // OpenAI's range is 0..2, Anthropic's 0..1; and Anthropic refuses temperature with top_p on recent models.
                if (_temperature.GetDouble() > 1)
                {
                    writer.WriteNumber("temperature"u8, 1);
                }
                else
                {
                    writer.WritePropertyName("temperature"u8);
                    writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(_temperature), skipInputValidation: true);
                }
            }
            else if (_topP.ValueKind == JsonValueKind.Number)
            {
                writer.WritePropertyName("top_p"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(_topP), skipInputValidation: true);
            }

            if (_topK.ValueKind == JsonValueKind.Number)
            {
                writer.WritePropertyName("top_k"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(_topK), skipInputValidation: true);
            }
        }

        private void WriteTools(Utf8JsonWriter writer)
        {
            if (_tools.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            writer.WriteStartArray("tools"u8);
            foreach (var tool in _tools.EnumerateArray())
            {
                var function = tool.GetProperty("function"u8);
                writer.WriteStartObject();
                writer.WritePropertyName("name"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(function.GetProperty("name"u8)), skipInputValidation: true);
                if (function.TryGetProperty("description"u8, out var description) && description.ValueKind == JsonValueKind.String)
                {
                    writer.WritePropertyName("description"u8);
                    writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(description), skipInputValidation: true);
                }

                writer.WritePropertyName("input_schema"u8);
                if (function.TryGetProperty("parameters"u8, out var parameters) && parameters.ValueKind == JsonValueKind.Object)
                {
                    if (parameters.TryGetProperty("type"u8, out _))
                    {
                        writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(parameters), skipInputValidation: true);
                    }
                    else
                    {
                        // Anthropic requires input_schema.type; a schema of bare properties means an object.
                        writer.WriteStartObject();
                        writer.WriteString("type"u8, "object"u8);
                        foreach (var keyword in parameters.EnumerateObject())
                        {
                            keyword.WriteTo(writer);
                        }

                        writer.WriteEndObject();
                    }
                }
                else
                {
                    writer.WriteStartObject();
                    writer.WriteString("type"u8, "object"u8);
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            WriteToolChoice(writer);
        }

        private void WriteToolChoice(Utf8JsonWriter writer)
        {
            ReadOnlySpan<byte> type;
            JsonElement name = default;
            if (_toolChoice.ValueKind == JsonValueKind.String)
            {
                type = _toolChoice.ValueEquals("required"u8) ? "any"u8 : _toolChoice.ValueEquals("none"u8) ? "none"u8 : "auto"u8;
            }
            else if (_toolChoice.ValueKind == JsonValueKind.Object)
            {
                type = "tool"u8;
                name = _toolChoice.GetProperty("function"u8).GetProperty("name"u8);
            }
            else if (_disableParallelToolUse)
            {
                type = "auto"u8;
            }
            else
            {
                return;
            }

            writer.WriteStartObject("tool_choice"u8);
            writer.WriteString("type"u8, type);
            if (name.ValueKind == JsonValueKind.String)
            {
                writer.WritePropertyName("name"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(name), skipInputValidation: true);
            }

            // "none" takes no parallelism setting: no tool is called at all.
            if (_disableParallelToolUse && !type.SequenceEqual("none"u8))
            {
                writer.WriteBoolean("disable_parallel_tool_use"u8, true);
            }

            writer.WriteEndObject();
        }

        private static void WriteBlock(Utf8JsonWriter writer, Block block)
        {
            writer.WriteStartObject();
            switch (block.Kind)
            {
                case BlockKind.Text:
                    writer.WriteString("type"u8, "text"u8);
                    writer.WritePropertyName("text"u8);
                    writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(block.Element), skipInputValidation: true);
                    break;
                case BlockKind.TrimmedText:
                    writer.WriteString("type"u8, "text"u8);
                    writer.WriteString("text"u8, block.Text);
                    break;
                case BlockKind.Placeholder:
                    writer.WriteString("type"u8, "text"u8);
                    writer.WriteString("text"u8, PlaceholderText);
                    break;
                case BlockKind.Image or BlockKind.Document:
                    writer.WriteString("type"u8, block.Kind == BlockKind.Image ? "image"u8 : "document"u8);
                    writer.WriteStartObject("source"u8);
                    writer.WriteString("type"u8, "base64"u8);
                    writer.WriteString("media_type"u8, block.MediaType);
                    var url = Utf8Of(block.Element);
                    writer.WriteString("data"u8, url[(url.IndexOf(Base64Marker) + Base64Marker.Length)..]);
                    writer.WriteEndObject();
                    break;
                case BlockKind.ImageUrl:
                    writer.WriteString("type"u8, "image"u8);
                    writer.WriteStartObject("source"u8);
                    writer.WriteString("type"u8, "url"u8);
                    writer.WritePropertyName("url"u8);
                    writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(block.Element), skipInputValidation: true);
                    writer.WriteEndObject();
                    break;
                case BlockKind.ToolUse:
                    writer.WriteString("type"u8, "tool_use"u8);
                    writer.WriteString("id"u8, block.Id);
                    writer.WritePropertyName("name"u8);
                    writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(block.Element), skipInputValidation: true);
                    writer.WritePropertyName("input"u8);
                    writer.WriteRawValue(block.Input ?? "{}", skipInputValidation: true);
                    break;
                case BlockKind.ToolResult:
                    writer.WriteString("type"u8, "tool_result"u8);
                    writer.WriteString("tool_use_id"u8, block.Id);
                    WriteResultContent(writer, block);
                    break;
                case BlockKind.OrphanResult:
                    writer.WriteString("type"u8, "text"u8);
                    writer.WriteString("text"u8, OrphanText(block));
                    break;
            }

            if (block.CacheControl.ValueKind == JsonValueKind.Object)
            {
                writer.WritePropertyName("cache_control"u8);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(block.CacheControl), skipInputValidation: true);
            }

            writer.WriteEndObject();
        }

        // A string result stays a string; parts become text blocks. Blank texts were dropped, and a result with
        // none left has no content, which Anthropic accepts (an empty string it does not).
        private static void WriteResultContent(Utf8JsonWriter writer, Block block)
        {
            var texts = block.Results!;
            if (texts.Count == 0)
            {
                return;
            }

            writer.WritePropertyName("content"u8);
            if (block.Element.ValueKind == JsonValueKind.String)
            {
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(block.Element), skipInputValidation: true);
                return;
            }

            writer.WriteStartArray();
            foreach (var text in texts)
            {
                WriteBlock(writer, text);
            }

            writer.WriteEndArray();
        }

        private static string OrphanText(Block block)
        {
            var text = new StringBuilder("Result of tool call ").Append(block.Id).Append(':');
            foreach (var part in block.Results!)
            {
                text.Append('\n').Append(part.Element.GetString());
            }

            return text.ToString();
        }
    }

    private const int MaxUserIdLength = 256;

    /// <summary>The text of the user turn put before a conversation that starts with the assistant.</summary>
    internal const string PlaceholderText = "(conversation start)";

    private static bool IsJsonObject(string json)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json), new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // Empty or whitespace only. Most texts start with a letter and are decided by their first byte; only an
    // escape or a non-ASCII byte after leading spaces makes the string worth decoding.
    private static bool IsBlank(JsonElement text)
    {
        var raw = JsonMarshal.GetRawUtf8Value(text)[1..^1];
        var first = raw.IndexOfAnyExcept((byte)' ');
        if (first < 0)
        {
            return true;
        }

        var b = raw[first];
        return (b == '\\' || b >= 0x80) && string.IsNullOrWhiteSpace(text.GetString());
    }

    // A string's UTF-8 without its quotes; decoded only when it holds escapes (rare in URLs).
    private static ReadOnlySpan<byte> Utf8Of(JsonElement text)
    {
        var raw = JsonMarshal.GetRawUtf8Value(text)[1..^1];
        return raw.IndexOf((byte)'\\') < 0 ? raw : Encoding.UTF8.GetBytes(text.GetString()!);
    }

    [Flags]
    private enum PartsAllowed
    {
        Text = 1,
        Media = 2,
        Refusal = 4,

        /// <summary>Text only, as OpenAI allows in a tool message; named so a refusal says where the part was.</summary>
        ToolResult = 8,
    }

    private enum BlockKind
    {
        Text,
        TrimmedText,
        Placeholder,
        Image,
        ImageUrl,
        Document,
        ToolUse,
        ToolResult,
        OrphanResult,
    }

    /// <summary>One Anthropic content block, pointing into the client's document.</summary>
    private readonly record struct Block(BlockKind Kind, JsonElement Element)
    {
        public JsonElement CacheControl { get; init; }
        public string? MediaType { get; init; }
        public string? Id { get; init; }
        public string? Input { get; init; }
        public string? Text { get; init; }
        public List<Block>? Results { get; init; }
        public int MessageIndex { get; init; }
    }

    /// <summary>Where in the request an error is, spelled only when there is one.</summary>
    private readonly record struct Where(int Message, int Part = -1, int Call = -1)
    {
        public override string ToString() =>
            Part >= 0 ? $"messages[{Message}].content[{Part}]"
            : Call >= 0 ? $"messages[{Message}].tool_calls[{Call}]"
            : $"messages[{Message}]";
    }

    private sealed record Turn(bool Assistant)
    {
        public List<Block> Blocks { get; init; } = [];
    }
}
