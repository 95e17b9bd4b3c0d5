using System.Buffers;
using System.Text.Json;

namespace Roxy.FakeUpstream;

/// <summary>
/// Chat completions checks as strict as OpenAI's (its own wording), so a request Roxy translated from another protocol
/// is refused here when OpenAI would refuse it: fields only Anthropic knows (<c>thinking</c>, <c>top_k</c>,
/// <c>system</c>, …); roles outside OpenAI's list; a <c>tool</c> message that answers no <c>tool_calls</c> id of the
/// assistant turn before it, or an assistant's call left unanswered; arguments that are not a string; images outside
/// user turns; content parts of another protocol's shape or with extra fields (<c>cache_control</c>); Anthropic-style
/// tools and tool choices; more than four stop sequences; <c>stream_options</c> without <c>stream</c>. (An empty
/// <c>messages</c> is let through: the fake's own tests use it for a quick answer.) Read with the
/// same forward-only reader as the rest of the body, allocating only for tool calls.
/// </summary>
internal static class OpenAiChatRules
{
    private const string Roles = "'system', 'assistant', 'user', 'function', 'tool', and 'developer'";

    /// <summary>What the answer depends on, read while checking the messages.</summary>
    public struct Conversation
    {
        /// <summary>Byte ranges of the content of the tool messages that end the conversation (null when it does not end with tool results).</summary>
        public List<(long Start, long End)>? TrailingToolResults;
    }

    private enum Role { None, System, Developer, User, Assistant, Tool, Function }

    [Flags]
    private enum Parts { None = 0, Text = 1, Image = 2, Audio = 4, File = 8, Refusal = 16 }

    /// <summary>A top-level field of Anthropic's Messages API that OpenAI does not have.</summary>
    public static bool IsAnthropicOnly(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("system"u8) || reader.ValueTextEquals("stop_sequences"u8) || reader.ValueTextEquals("top_k"u8)
        || reader.ValueTextEquals("thinking"u8) || reader.ValueTextEquals("context_management"u8) || reader.ValueTextEquals("output_config"u8)
        || reader.ValueTextEquals("container"u8) || reader.ValueTextEquals("mcp_servers"u8) || reader.ValueTextEquals("cache_control"u8)
        || reader.ValueTextEquals("anthropic_version"u8) || reader.ValueTextEquals("betas"u8) || reader.ValueTextEquals("inference_geo"u8);

    public static FakeError Unrecognized(string name) =>
        new(400, "invalid_request_error", null, $"Unrecognized request argument supplied: {name}");

    private static FakeError Invalid(string message, string? param) => new(400, "invalid_request_error", null, message, param);

    /// <summary>Reads and checks <c>messages</c>; the reader is on the property's value.</summary>
    public static FakeError? Messages(ref Utf8JsonReader reader, out Conversation conversation)
    {
        conversation = default;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return Invalid($"Invalid type for 'messages': expected an array of objects, but got {Kind(reader.TokenType)} instead.", "messages");
        }

        var index = 0;
        List<string>? pending = null;
        var pendingFrom = -1;
        var lastRole = Role.None;
        List<(long, long)>? trailing = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return Invalid($"Invalid type for 'messages[{index}]': expected an object, but got {Kind(reader.TokenType)} instead.", $"messages[{index}]");
            }

            var role = Role.None;
            string? badRole = null;
            var content = JsonTokenType.None;
            (long, long) contentRange = default;
            var parts = Parts.None;
            List<string>? calls = null;
            string? toolCallId = null;
            var hasFunctionCall = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("role"u8))
                {
                    reader.Read();
                    role = reader.TokenType == JsonTokenType.String ? RoleOf(ref reader) : Role.None;
                    if (role == Role.None)
                    {
                        badRole = reader.TokenType == JsonTokenType.String ? reader.GetString() : "";
                    }

                    reader.Skip();
                }
                else if (reader.ValueTextEquals("content"u8))
                {
                    reader.Read();
                    content = reader.TokenType;
                    var start = reader.TokenStartIndex;
                    if (content == JsonTokenType.StartArray)
                    {
                        var error = ContentParts(ref reader, index, ref parts);
                        if (error is not null)
                        {
                            return error;
                        }
                    }
                    else if (content is not (JsonTokenType.String or JsonTokenType.Null))
                    {
                        reader.Skip();
                        return Invalid($"Invalid type for 'messages[{index}].content': expected one of a string or array of objects, but got {Kind(content)} instead.", $"messages[{index}].content");
                    }

                    contentRange = (start, reader.BytesConsumed);
                }
                else if (reader.ValueTextEquals("tool_calls"u8))
                {
                    reader.Read();
                    var error = ToolCalls(ref reader, index, out calls);
                    if (error is not null)
                    {
                        return error;
                    }
                }
                else if (reader.ValueTextEquals("tool_call_id"u8))
                {
                    reader.Read();
                    toolCallId = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("name"u8) || reader.ValueTextEquals("refusal"u8) || reader.ValueTextEquals("audio"u8))
                {
                    reader.Read();
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("function_call"u8))
                {
                    hasFunctionCall = true;
                    reader.Read();
                    reader.Skip();
                }
                else
                {
                    return Invalid($"Additional properties are not allowed ('{reader.GetString()}' was unexpected) - 'messages.{index}'", $"messages[{index}]");
                }
            }

            if (badRole is not null)
            {
                return Invalid($"Invalid value: '{badRole}'. Supported values are: {Roles}.", $"messages[{index}].role");
            }

            if (role == Role.None)
            {
                return Invalid($"Missing required parameter: 'messages[{index}].role'.", $"messages[{index}].role");
            }

            var missingContent = content is JsonTokenType.None or JsonTokenType.Null;
            if (missingContent && !(role == Role.Assistant && (calls is not null || hasFunctionCall)))
            {
                return content == JsonTokenType.None
                    ? Invalid($"Missing required parameter: 'messages[{index}].content'.", $"messages[{index}].content")
                    : Invalid($"Invalid value for 'content': expected a string, got null.", $"messages[{index}].content");
            }

            if ((parts & Parts.Image) != 0 && role != Role.User)
            {
                return Invalid($"Invalid 'messages[{index}]'. Image URLs are only allowed for messages with role 'user', but this message with role '{Name(role)}' contains an image URL.", $"messages[{index}]");
            }

            var allowed = role switch
            {
                Role.User => Parts.Text | Parts.Image | Parts.Audio | Parts.File,
                Role.Assistant => Parts.Text | Parts.Refusal,
                _ => Parts.Text,
            };
            if ((parts & ~allowed) != 0)
            {
                return Invalid($"Invalid 'messages[{index}]': a message with role '{Name(role)}' can only hold content parts of type {(role == Role.Assistant ? "'text' or 'refusal'" : role == Role.User ? "'text', 'image_url', 'input_audio' or 'file'" : "'text'")}.", $"messages[{index}].content");
            }

            if (calls is not null && role != Role.Assistant)
            {
                return Invalid($"Invalid parameter: only messages with role 'assistant' can have 'tool_calls'.", $"messages[{index}].tool_calls");
            }

            if (role == Role.Tool)
            {
                if (toolCallId is null)
                {
                    return Invalid($"Missing required parameter: 'messages[{index}].tool_call_id'.", $"messages[{index}].tool_call_id");
                }

                if (pending is null && lastRole != Role.Tool)
                {
                    return Invalid("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", $"messages.[{index}].role");
                }

                if (pending is null || !pending.Remove(toolCallId))
                {
                    return Invalid($"Invalid parameter: 'tool_call_id' of '{toolCallId}' not found in 'tool_calls' of previous message.", $"messages.[{index}].tool_call_id");
                }

                trailing ??= [];
                trailing.Add(contentRange);
            }
            else
            {
                if (pending is { Count: > 0 })
                {
                    return Unanswered(pending, pendingFrom);
                }

                pending = null;
                trailing = null;
            }

            if (calls is not null)
            {
                pending = calls;
                pendingFrom = index;
            }

            lastRole = role;
            index++;
        }

        if (pending is { Count: > 0 })
        {
            return Unanswered(pending, pendingFrom);
        }

        conversation.TrailingToolResults = lastRole == Role.Tool ? trailing : null;
        return null;
    }

    private static FakeError Unanswered(List<string> pending, int from) =>
        Invalid($"An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {string.Join(", ", pending)}", $"messages.[{from}].role");

    private static FakeError? ContentParts(ref Utf8JsonReader reader, int index, ref Parts parts)
    {
        var j = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return Invalid($"Invalid type for 'messages[{index}].content[{j}]': expected an object, but got {Kind(reader.TokenType)} instead.", $"messages[{index}].content[{j}]");
            }

            string? badPart = null;
            string? unexpected = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    var part = reader.TokenType != JsonTokenType.String ? Parts.None
                        : reader.ValueTextEquals("text"u8) ? Parts.Text
                        : reader.ValueTextEquals("image_url"u8) ? Parts.Image
                        : reader.ValueTextEquals("input_audio"u8) ? Parts.Audio
                        : reader.ValueTextEquals("file"u8) ? Parts.File
                        : reader.ValueTextEquals("refusal"u8) ? Parts.Refusal
                        : Parts.None;
                    if (part == Parts.None)
                    {
                        badPart = reader.TokenType == JsonTokenType.String ? reader.GetString() : "";
                    }

                    parts |= part;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("image_url"u8) || reader.ValueTextEquals("input_audio"u8)
                    || reader.ValueTextEquals("file"u8) || reader.ValueTextEquals("refusal"u8))
                {
                    reader.Read();
                    reader.Skip();
                }
                else
                {
                    // Another protocol's part (Anthropic's image "source", "cache_control"): reported after its type.
                    unexpected ??= reader.GetString();
                    reader.Read();
                    reader.Skip();
                }
            }

            if (badPart is not null)
            {
                return Invalid($"Invalid value: '{badPart}'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal', 'audio', and 'file'.", $"messages[{index}].content[{j}].type");
            }

            if (unexpected is not null)
            {
                return Invalid($"Additional properties are not allowed ('{unexpected}' was unexpected) - 'messages.{index}.content.{j}'", $"messages[{index}].content[{j}]");
            }

            j++;
        }

        return null;
    }

    private static FakeError? ToolCalls(ref Utf8JsonReader reader, int index, out List<string>? ids)
    {
        ids = null;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return Invalid($"Invalid type for 'messages[{index}].tool_calls': expected an array of objects, but got {Kind(reader.TokenType)} instead.", $"messages[{index}].tool_calls");
        }

        ids = [];
        var k = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var path = $"messages[{index}].tool_calls[{k}]";
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return Invalid($"Invalid type for '{path}': expected an object, but got {Kind(reader.TokenType)} instead.", path);
            }

            string? id = null;
            var type = false;
            var name = false;
            var arguments = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals("function"u8))
                    {
                        return Invalid($"Invalid value: '{(reader.TokenType == JsonTokenType.String ? reader.GetString() : "")}'. Supported values are: 'function'.", $"{path}.type");
                    }

                    type = true;
                }
                else if (reader.ValueTextEquals("function"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        return Invalid($"Invalid type for '{path}.function': expected an object, but got {Kind(reader.TokenType)} instead.", $"{path}.function");
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isName = reader.ValueTextEquals("name"u8);
                        var isArguments = reader.ValueTextEquals("arguments"u8);
                        reader.Read();
                        if ((isName || isArguments) && reader.TokenType != JsonTokenType.String)
                        {
                            var kind = Kind(reader.TokenType);
                            reader.Skip();
                            return Invalid($"Invalid type for '{path}.function.{(isName ? "name" : "arguments")}': expected a string, but got {kind} instead.", $"{path}.function.{(isName ? "name" : "arguments")}");
                        }

                        name |= isName;
                        arguments |= isArguments;
                        reader.Skip();
                    }
                }
                else
                {
                    return Invalid($"Additional properties are not allowed ('{reader.GetString()}' was unexpected) - 'messages.{index}.tool_calls.{k}'", path);
                }
            }

            var missing = id is null ? "id" : !type ? "type" : !name ? "function.name" : !arguments ? "function.arguments" : null;
            if (missing is not null)
            {
                return Invalid($"Missing required parameter: '{path}.{missing}'.", $"{path}.{missing}");
            }

            ids.Add(id!);
            k++;
        }

        return null;
    }

    /// <summary>Checks <c>tools</c>; the reader is on the property's value.</summary>
    public static FakeError? Tools(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return Invalid($"Invalid type for 'tools': expected an array of objects, but got {Kind(reader.TokenType)} instead.", "tools");
        }

        var i = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return Invalid($"Invalid type for 'tools[{i}]': expected an object, but got {Kind(reader.TokenType)} instead.", $"tools[{i}]");
            }

            var type = false;
            var name = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String || !(reader.ValueTextEquals("function"u8) || reader.ValueTextEquals("custom"u8)))
                    {
                        return Invalid($"Invalid value: '{(reader.TokenType == JsonTokenType.String ? reader.GetString() : "")}'. Supported values are: 'function' and 'custom'.", $"tools[{i}].type");
                    }

                    type = true;
                }
                else if (reader.ValueTextEquals("function"u8) || reader.ValueTextEquals("custom"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            if (reader.ValueTextEquals("name"u8))
                            {
                                reader.Read();
                                name = reader.TokenType == JsonTokenType.String;
                            }
                            else if (reader.ValueTextEquals("description"u8) || reader.ValueTextEquals("parameters"u8) || reader.ValueTextEquals("strict"u8)
                                || reader.ValueTextEquals("format"u8))
                            {
                                reader.Read();
                            }
                            else
                            {
                                return Invalid($"Additional properties are not allowed ('{reader.GetString()}' was unexpected) - 'tools.{i}.function'", $"tools[{i}].function");
                            }

                            reader.Skip();
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    // Anthropic's {"name","input_schema","cache_control"} tools land here.
                    return Invalid($"Additional properties are not allowed ('{reader.GetString()}' was unexpected) - 'tools.{i}'", $"tools[{i}]");
                }
            }

            if (!type)
            {
                return Invalid($"Missing required parameter: 'tools[{i}].type'.", $"tools[{i}].type");
            }

            if (!name)
            {
                return Invalid($"Missing required parameter: 'tools[{i}].function.name'.", $"tools[{i}].function.name");
            }

            i++;
        }

        return null;
    }

    /// <summary>Checks <c>tool_choice</c>; the reader is on the property's value.</summary>
    public static FakeError? ToolChoice(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.ValueTextEquals("none"u8) || reader.ValueTextEquals("auto"u8) || reader.ValueTextEquals("required"u8)
                ? null
                : Invalid($"Invalid value: '{reader.GetString()}'. Supported values are: 'none', 'auto', and 'required'.", "tool_choice");
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return Invalid($"Invalid type for 'tool_choice': expected one of a string or an object, but got {Kind(reader.TokenType)} instead.", "tool_choice");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                // Anthropic's {"type":"any"} or {"type":"tool","name":…} lands here.
                if (reader.TokenType != JsonTokenType.String || !(reader.ValueTextEquals("function"u8) || reader.ValueTextEquals("allowed_tools"u8) || reader.ValueTextEquals("custom"u8)))
                {
                    return Invalid($"Invalid value: '{(reader.TokenType == JsonTokenType.String ? reader.GetString() : "")}'. Supported values are: 'function', 'allowed_tools', and 'custom'.", "tool_choice.type");
                }
            }
            else if (reader.ValueTextEquals("function"u8) || reader.ValueTextEquals("allowed_tools"u8) || reader.ValueTextEquals("custom"u8))
            {
                reader.Read();
                reader.Skip();
            }
            else
            {
                return Invalid($"Additional properties are not allowed ('{reader.GetString()}' was unexpected) - 'tool_choice'", "tool_choice");
            }
        }

        return null;
    }

    /// <summary>Checks <c>stop</c>: a string, null or at most four strings.</summary>
    public static FakeError? Stop(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is JsonTokenType.String or JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return Invalid($"Invalid type for 'stop': expected one of a string or array of strings, but got {Kind(reader.TokenType)} instead.", "stop");
        }

        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                reader.Skip();
                return Invalid($"Invalid type for 'stop[{count}]': expected a string, but got {Kind(reader.TokenType)} instead.", $"stop[{count}]");
            }

            count++;
        }

        return count > 4 ? Invalid($"Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length {count} instead.", "stop") : null;
    }

    /// <summary>The text of the trailing tool results: string content, or its text parts joined.</summary>
    public static List<string> ToolResultTexts(ReadOnlySequence<byte> body, List<(long Start, long End)> ranges)
    {
        var texts = new List<string>(ranges.Count);
        foreach (var (start, end) in ranges)
        {
            try
            {
                using var document = JsonDocument.Parse(body.Slice(start, end - start));
                var content = document.RootElement;
                texts.Add(content.ValueKind == JsonValueKind.String
                    ? content.GetString()!
                    : string.Concat(content.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : "")));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                texts.Add("");
            }
        }

        return texts;
    }

    private static Role RoleOf(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("user"u8) ? Role.User
        : reader.ValueTextEquals("assistant"u8) ? Role.Assistant
        : reader.ValueTextEquals("system"u8) ? Role.System
        : reader.ValueTextEquals("tool"u8) ? Role.Tool
        : reader.ValueTextEquals("developer"u8) ? Role.Developer
        : reader.ValueTextEquals("function"u8) ? Role.Function
        : Role.None;

    private static string Name(Role role) => role.ToString().ToLowerInvariant();

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => "null",
    };
}
