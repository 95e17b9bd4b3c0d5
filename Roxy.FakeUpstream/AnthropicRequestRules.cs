using System.Text.Json;
using System.Text.RegularExpressions;

namespace Roxy.FakeUpstream;

/// <summary>
/// The Messages API's request checks, as strict as the real API (the messages are Anthropic's own wording), so a
/// translation that would be refused upstream is refused here too. The rules peers most often break: a system
/// role inside <c>messages</c>; roles that do not alternate or a first turn that is not the user's; empty text
/// blocks; tool ids outside <c>^[a-zA-Z0-9_-]+$</c>; OpenAI's <c>image_url</c> parts and <c>type: function</c>
/// tools; a <c>tool_result</c> whose id no <c>tool_use</c> of the previous assistant turn carries, a tool_use left
/// without its result, or a result after text; no <c>max_tokens</c>; <c>temperature</c> above 1; unknown fields.
/// What real clients pass through is accepted as the real API accepts it: <c>thinking</c> (checked: a budget of at
/// least 1024 below <c>max_tokens</c>) and signed thinking blocks, <c>cache_control</c> on tools, system and content
/// blocks (checked: ephemeral, at most four), <c>output_config</c>, <c>metadata.user_id</c>, documents, and
/// <c>context_management</c> only with its <c>anthropic-beta</c> flag, as the real API gates beta fields.
/// </summary>
internal static partial class AnthropicRequestRules
{
    private static readonly HashSet<string> TopLevel =
    [
        "model", "messages", "max_tokens", "system", "stop_sequences", "stream", "temperature", "top_p", "top_k",
        "tools", "tool_choice", "metadata", "thinking", "service_tier", "container", "mcp_servers",
        "output_config", "output_format", "inference_geo", "cache_control", "context_management",
    ];

    /// <summary>Top-level fields the API accepts only with their beta flag in <c>anthropic-beta</c>.</summary>
    private static readonly Dictionary<string, string> BetaFields = new(StringComparer.Ordinal)
    {
        ["context_management"] = "context-management-2025-06-27",
    };

    private const int MaxCacheBreakpoints = 4;

    private static readonly HashSet<string> MediaTypes = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    [GeneratedRegex("^[a-zA-Z0-9_-]+$")]
    private static partial Regex ToolId();

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,128}$")]
    private static partial Regex ToolName();

    /// <summary>What the request asks for, once it passed.</summary>
    /// <param name="ToolResults">The texts of the tool results the conversation ends with; empty when it does not end so.</param>
    public sealed record Parsed(string Model, bool Stream, int MaxTokens, IReadOnlyList<string> StopSequences, IReadOnlyList<string> ToolResults);

    /// <summary>Null when the request is valid (then <paramref name="parsed"/> is set), else the 400's message.</summary>
    /// <param name="betas">The request's <c>anthropic-beta</c> header (comma-separated flags), or empty.</param>
    public static string? Check(JsonElement root, string betas, out Parsed? parsed)
    {
        parsed = null;
        var flags = betas.Split(',', StringSplitOptions.TrimEntries);
        if (root.ValueKind != JsonValueKind.Object)
        {
            return "Input should be a valid dictionary";
        }

        foreach (var property in root.EnumerateObject())
        {
            if (!TopLevel.Contains(property.Name)
                || (BetaFields.TryGetValue(property.Name, out var flag) && !flags.Contains(flag)))
            {
                return $"{property.Name}: Extra inputs are not permitted";
            }
        }

        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String || model.GetString() is not { Length: > 0 } modelName)
        {
            return "model: Field required";
        }

        if (!root.TryGetProperty("max_tokens", out var maxTokens))
        {
            return "max_tokens: Field required";
        }

        if (maxTokens.ValueKind != JsonValueKind.Number || !maxTokens.TryGetInt32(out var max) || max < 1)
        {
            return "max_tokens: Input should be a valid integer greater than or equal to 1";
        }

        var stream = false;
        if (root.TryGetProperty("stream", out var streamValue))
        {
            if (streamValue.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return "stream: Input should be a valid boolean";
            }

            stream = streamValue.ValueKind == JsonValueKind.True;
        }

        var error = Range(root, "temperature", 0, 1) ?? Range(root, "top_p", 0, 1) ?? TopK(root) ?? Thinking(root, max)
            ?? System(root) ?? Metadata(root) ?? ToolChoice(root) ?? Tools(root, flags.Contains(DeferredToolsBeta)) ?? Messages(root, flags.Contains(PerTurnControlBeta) || flags.Contains(MidConversationBeta), flags.Contains(PerTurnControlBeta)) ?? Objects(root) ?? CacheBreakpoints(root);
        IReadOnlyList<string> stops = [];
        error ??= StopSequences(root, out stops);
        if (error is not null)
        {
            return error;
        }

        parsed = new Parsed(modelName, stream, max, stops, TrailingToolResults(root));
        return null;
    }

    private static string? Thinking(JsonElement root, int maxTokens)
    {
        if (!root.TryGetProperty("thinking", out var thinking))
        {
            return null;
        }

        if (thinking.ValueKind != JsonValueKind.Object)
        {
            return "thinking: Input should be a valid dictionary or object to extract fields from";
        }

        switch (Str(thinking, "type"))
        {
            case "enabled":
                if (!thinking.TryGetProperty("budget_tokens", out var budget))
                {
                    return "thinking.enabled.budget_tokens: Field required";
                }

                if (budget.ValueKind != JsonValueKind.Number || !budget.TryGetInt32(out var tokens) || tokens < 1024)
                {
                    return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
                }

                if (tokens >= maxTokens)
                {
                    return "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size";
                }

                if (root.TryGetProperty("temperature", out var temperature) && temperature.ValueKind == JsonValueKind.Number && temperature.GetDouble() != 1)
                {
                    return "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking";
                }

                return null;
            case "disabled":
            case "adaptive":
                return null;
            case var other:
                return $"thinking: Input tag '{other}' found using 'type' does not match any of the expected tags: 'adaptive', 'disabled', 'enabled'";
        }
    }

    // Fields whose contents Roxy has no reason to know, but whose shape the API checks.
    private static string? Objects(JsonElement root)
    {
        foreach (var name in (ReadOnlySpan<string>)["context_management", "output_config", "output_format", "cache_control"])
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Object)
            {
                return $"{name}: Input should be a valid dictionary or object to extract fields from";
            }
        }

        return root.TryGetProperty("cache_control", out var control) ? CacheControl(control, "cache_control") : null;
    }

    private static string? CacheControl(JsonElement control, string path)
    {
        if (control.ValueKind != JsonValueKind.Object || Str(control, "type") != "ephemeral")
        {
            return $"{path}.type: Input should be 'ephemeral'";
        }

        foreach (var property in control.EnumerateObject())
        {
            if (property.Name is not ("type" or "ttl"))
            {
                return $"{path}.ephemeral.{property.Name}: Extra inputs are not permitted";
            }
        }

        return control.TryGetProperty("ttl", out _) && Str(control, "ttl") is not ("5m" or "1h")
            ? $"{path}.ephemeral.ttl: Input should be '5m' or '1h'"
            : null;
    }

    // Every cache_control in tools, system and messages (the top-level one is automatic, not a breakpoint).
    private static string? CacheBreakpoints(JsonElement root)
    {
        var count = 0;
        string? error = null;
        void Visit(JsonElement blocks, string path)
        {
            if (blocks.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            var i = 0;
            foreach (var block in blocks.EnumerateArray())
            {
                if (block.ValueKind == JsonValueKind.Object && block.TryGetProperty("cache_control", out var control))
                {
                    count++;
                    error ??= CacheControl(control, $"{path}.{i}.cache_control");
                }

                if (block.ValueKind == JsonValueKind.Object && block.TryGetProperty("content", out var inner))
                {
                    Visit(inner, $"{path}.{i}.content");
                }

                i++;
            }
        }

        if (root.TryGetProperty("tools", out var tools))
        {
            Visit(tools, "tools");
        }

        if (root.TryGetProperty("system", out var system))
        {
            Visit(system, "system");
        }

        var m = 0;
        foreach (var message in root.GetProperty("messages").EnumerateArray())
        {
            if (message.TryGetProperty("content", out var content))
            {
                Visit(content, $"messages.{m}.content");
            }

            m++;
        }

        return error ?? (count > MaxCacheBreakpoints ? $"A maximum of {MaxCacheBreakpoints} blocks with cache_control may be provided. Found {count}." : null);
    }

    private static List<string> TrailingToolResults(JsonElement root)
    {
        var last = root.GetProperty("messages").EnumerateArray().Last();
        if (Str(last, "role") != "user" || !last.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var texts = new List<string>();
        foreach (var block in content.EnumerateArray())
        {
            if (Str(block, "type") == "tool_result")
            {
                texts.Add(!block.TryGetProperty("content", out var result) ? ""
                    : result.ValueKind == JsonValueKind.String ? result.GetString()!
                    : string.Concat(result.EnumerateArray().Select(p => Str(p, "text") ?? "")));
            }
        }

        return texts;
    }

    private static string? Range(JsonElement root, string name, double min, double max)
    {
        if (!root.TryGetProperty(name, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            return $"{name}: Input should be a valid number";
        }

        var number = value.GetDouble();
        return number > max ? $"{name}: Input should be less than or equal to {max}"
            : number < min ? $"{name}: Input should be greater than or equal to {min}"
            : null;
    }

    private static string? TopK(JsonElement root) =>
        root.TryGetProperty("top_k", out var value) && (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var k) || k < 0)
            ? "top_k: Input should be a valid integer greater than or equal to 0"
            : null;

    private static string? System(JsonElement root)
    {
        if (!root.TryGetProperty("system", out var system))
        {
            return null;
        }

        if (system.ValueKind == JsonValueKind.String)
        {
            return null;
        }

        if (system.ValueKind != JsonValueKind.Array)
        {
            return "system: Input should be a valid list";
        }

        var i = 0;
        foreach (var block in system.EnumerateArray())
        {
            if (block.ValueKind != JsonValueKind.Object || Str(block, "type") != "text")
            {
                return $"system.{i}.type: Input should be 'text'";
            }

            if (Text(block, $"system.{i}") is { } error)
            {
                return error;
            }

            i++;
        }

        return null;
    }

    private static string? Metadata(JsonElement root)
    {
        if (!root.TryGetProperty("metadata", out var metadata))
        {
            return null;
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            return "metadata: Input should be a valid dictionary";
        }

        foreach (var property in metadata.EnumerateObject())
        {
            if (property.Name != "user_id")
            {
                return $"metadata.{property.Name}: Extra inputs are not permitted";
            }

            if (property.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                return "metadata.user_id: Input should be a valid string";
            }
        }

        return null;
    }

    private static string? ToolChoice(JsonElement root)
    {
        if (!root.TryGetProperty("tool_choice", out var choice))
        {
            return null;
        }

        if (choice.ValueKind != JsonValueKind.Object)
        {
            return "tool_choice: Input should be a valid dictionary or object to extract fields from";
        }

        var type = Str(choice, "type");
        if (type is not ("auto" or "any" or "none" or "tool"))
        {
            return $"tool_choice: Input tag '{type}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'";
        }

        foreach (var property in choice.EnumerateObject())
        {
            var allowed = property.Name is "type" || (property.Name == "disable_parallel_tool_use" && type != "none") || (property.Name == "name" && type == "tool");
            if (!allowed)
            {
                return $"tool_choice.{type}.{property.Name}: Extra inputs are not permitted";
            }
        }

        if (type == "tool" && Str(choice, "name") is not { Length: > 0 })
        {
            return "tool_choice.tool.name: Field required";
        }

        if (choice.TryGetProperty("disable_parallel_tool_use", out var disable) && disable.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return $"tool_choice.{type}.disable_parallel_tool_use: Input should be a valid boolean";
        }

        return null;
    }

    /// <summary>The beta under which a tool may be <c>defer_loading</c> (Claude Code's tool search).</summary>
    private const string DeferredToolsBeta = "advanced-tool-use-2025-11-20";

    /// <summary>
    /// Betas under which a conversation may hold <c>system</c> turns (Claude Code sends them with either); with the
    /// first, a system turn may also set that turn's <c>output_config</c>.
    /// </summary>
    private const string PerTurnControlBeta = "per-turn-control-2026-07-01";

    private const string MidConversationBeta = "mid-conversation-tool-changes-2026-07-01";

    private static string? Tools(JsonElement root, bool deferredTools)
    {
        if (!root.TryGetProperty("tools", out var tools))
        {
            return null;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            return "tools: Input should be a valid list";
        }

        var i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var path = $"tools.{i}";
            if (tool.ValueKind != JsonValueKind.Object)
            {
                return $"{path}: Input should be a valid dictionary";
            }

            if (Str(tool, "type") is { } type && type != "custom")
            {
                // OpenAI's {"type":"function","function":{…}} lands here.
                return $"{path}: Input tag '{type}' found using 'type' does not match any of the expected tags: 'custom', 'bash_20250124', 'text_editor_20250124', 'web_search_20250305'";
            }

            foreach (var property in tool.EnumerateObject())
            {
                if (property.Name is not ("type" or "name" or "description" or "input_schema" or "cache_control")
                    && !(deferredTools && property.Name == "defer_loading"))
                {
                    return $"{path}.custom.{property.Name}: Extra inputs are not permitted";
                }
            }

            if (Str(tool, "name") is not { } name || !ToolName().IsMatch(name))
            {
                return $"{path}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'";
            }

            if (tool.TryGetProperty("description", out var description) && description.ValueKind != JsonValueKind.String)
            {
                return $"{path}.custom.description: Input should be a valid string";
            }

            if (!tool.TryGetProperty("input_schema", out var schema))
            {
                return $"{path}.custom.input_schema: Field required";
            }

            if (schema.ValueKind != JsonValueKind.Object || Str(schema, "type") != "object")
            {
                return $"{path}.custom.input_schema.type: Input should be 'object'";
            }

            i++;
        }

        return null;
    }

    private static string? StopSequences(JsonElement root, out IReadOnlyList<string> stops)
    {
        stops = [];
        if (!root.TryGetProperty("stop_sequences", out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            return "stop_sequences: Input should be a valid list";
        }

        var list = new List<string>();
        foreach (var stop in value.EnumerateArray())
        {
            if (stop.ValueKind != JsonValueKind.String)
            {
                return $"stop_sequences.{list.Count}: Input should be a valid string";
            }

            if (string.IsNullOrWhiteSpace(stop.GetString()))
            {
                return "stop_sequences: each stop sequence must contain non-whitespace";
            }

            list.Add(stop.GetString()!);
        }

        stops = list;
        return null;
    }

    private static string? Messages(JsonElement root, bool systemTurns, bool perTurnControl)
    {
        if (!root.TryGetProperty("messages", out var messages))
        {
            return "messages: Field required";
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            return "messages: Input should be a valid list";
        }

        var count = messages.GetArrayLength();
        if (count == 0)
        {
            return "messages: at least one message is required";
        }

        string? previousRole = null;
        HashSet<string> previousToolUses = [];
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var path = $"messages.{i}";
            if (message.ValueKind != JsonValueKind.Object)
            {
                return $"{path}: Input should be a valid dictionary";
            }

            var role = Str(message, "role");
            foreach (var property in message.EnumerateObject())
            {
                if (property.Name is not ("role" or "content")
                    && !(perTurnControl && role == "system" && property.Name == "output_config"))
                {
                    return $"{path}.{property.Name}: Extra inputs are not permitted";
                }
            }

            if (systemTurns && role == "system" && i > 0)
            {
                // Text between turns, outside the user/assistant alternation.
                if (SystemTurn(message, path) is { } systemError)
                {
                    return systemError;
                }

                i++;
                continue;
            }

            if (role is not ("user" or "assistant"))
            {
                return $"{path}.role: Input should be 'user' or 'assistant'";
            }

            if (i == 0 && role != "user")
            {
                return "messages: first message must use the \"user\" role";
            }

            if (role == previousRole)
            {
                return $"messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row";
            }

            if (!message.TryGetProperty("content", out var content))
            {
                return $"{path}.content: Field required";
            }

            var toolUses = new HashSet<string>(StringComparer.Ordinal);
            var error = Content(content, path, role, i == count - 1, previousToolUses, toolUses);
            if (error is not null)
            {
                return error;
            }

            previousRole = role;
            previousToolUses = toolUses;
            i++;
        }

        return null;
    }

    private static string? SystemTurn(JsonElement message, string path)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return $"{path}.content: Field required";
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return string.IsNullOrWhiteSpace(content.GetString()) ? $"{path}.content: system turns must be non-empty" : null;
        }

        if (content.ValueKind != JsonValueKind.Array || content.GetArrayLength() == 0)
        {
            return $"{path}.content: Input should be a valid string or a non-empty list of text blocks";
        }

        var b = 0;
        foreach (var block in content.EnumerateArray())
        {
            if (block.ValueKind != JsonValueKind.Object || Str(block, "type") != "text" || Str(block, "text") is not { Length: > 0 })
            {
                return $"{path}.content.{b}: system turns hold only non-empty text blocks";
            }

            b++;
        }

        return null;
    }

    private static string? Content(
        JsonElement content, string path, string role, bool last, HashSet<string> previousToolUses, HashSet<string> toolUses)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            // A final assistant turn is a prefill and may be empty; any other text must say something.
            if (string.IsNullOrWhiteSpace(content.GetString()) && !(last && role == "assistant"))
            {
                return "messages: text content blocks must contain non-whitespace text";
            }

            return role == "user" ? Unanswered(previousToolUses, [], path) : null;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return $"{path}.content: Input should be a valid string or list";
        }

        if (content.GetArrayLength() == 0 && !(last && role == "assistant"))
        {
            return $"{path}.content: all messages must have non-empty content except for the optional final assistant message";
        }

        var results = new HashSet<string>(StringComparer.Ordinal);
        var sawOther = false;
        var j = 0;
        foreach (var block in content.EnumerateArray())
        {
            var blockPath = $"{path}.content.{j}";
            if (block.ValueKind != JsonValueKind.Object)
            {
                return $"{blockPath}: Input should be a valid dictionary";
            }

            var type = Str(block, "type");
            var error = type switch
            {
                "text" => Text(block, blockPath),
                "image" => Image(block, blockPath),
                "tool_use" when role == "assistant" => ToolUse(block, blockPath, toolUses),
                "tool_result" when role == "user" => ToolResult(block, blockPath, previousToolUses, results, sawOther),
                "tool_use" or "tool_result" => $"{blockPath}: {type} blocks are not allowed in {role} messages",
                "document" when role == "user" => Document(block, blockPath),
                "thinking" when role == "assistant" => Str(block, "signature") is { Length: > 0 } ? null : $"{blockPath}.thinking.signature: Field required",
                "redacted_thinking" when role == "assistant" => Str(block, "data") is { Length: > 0 } ? null : $"{blockPath}.redacted_thinking.data: Field required",
                _ => $"{blockPath}: Input tag '{type}' found using 'type' does not match any of the expected tags: 'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'",
            };
            if (error is not null)
            {
                return error;
            }

            sawOther |= type != "tool_result";
            j++;
        }

        return role == "user" ? Unanswered(previousToolUses, results, path) : null;
    }

    private static string? Unanswered(HashSet<string> previousToolUses, HashSet<string> results, string path)
    {
        var missing = previousToolUses.Where(id => !results.Contains(id)).ToArray();
        return missing.Length == 0
            ? null
            : $"{path}: `tool_use` ids were found without `tool_result` blocks immediately after: {string.Join(", ", missing)}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.";
    }

    private static string? Text(JsonElement block, string path)
    {
        foreach (var property in block.EnumerateObject())
        {
            if (property.Name is not ("type" or "text" or "cache_control" or "citations"))
            {
                return $"{path}.text.{property.Name}: Extra inputs are not permitted";
            }
        }

        if (!block.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
        {
            return $"{path}.text: Field required";
        }

        return string.IsNullOrWhiteSpace(text.GetString()) ? "messages: text content blocks must contain non-whitespace text" : null;
    }

    private static string? Document(JsonElement block, string path)
    {
        if (!block.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.Object)
        {
            return $"{path}.document.source: Field required";
        }

        return Str(source, "type") switch
        {
            "text" => Str(source, "data") is not null && Str(source, "media_type") == "text/plain" ? null : $"{path}.document.source.text: media_type 'text/plain' and data are required",
            "base64" => Str(source, "media_type") == "application/pdf" && Str(source, "data") is { } pdf && IsBase64(pdf) ? null : $"{path}.document.source.base64: a base64 'application/pdf' is required",
            "url" => Str(source, "url") is { } url && url.StartsWith("https://", StringComparison.Ordinal) ? null : $"{path}.document.source.url.url: Only HTTPS URLs are supported",
            "content" or "file" => null,
            var other => $"{path}.document.source: Input tag '{other}' found using 'type' does not match any of the expected tags: 'base64', 'content', 'file', 'text', 'url'",
        };
    }

    private static string? Image(JsonElement block, string path)
    {
        if (!block.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.Object)
        {
            return $"{path}.image.source: Field required";
        }

        switch (Str(source, "type"))
        {
            case "base64":
                if (Str(source, "media_type") is not { } media || !MediaTypes.Contains(media))
                {
                    return $"{path}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'";
                }

                var data = Str(source, "data");
                if (string.IsNullOrEmpty(data) || data.StartsWith("data:", StringComparison.Ordinal) || !IsBase64(data))
                {
                    return $"{path}.image.source.base64.data: The image data is not valid base64";
                }

                return null;
            case "url":
                return Str(source, "url") is { } url && url.StartsWith("https://", StringComparison.Ordinal) && Uri.IsWellFormedUriString(url, UriKind.Absolute)
                    ? null
                    : $"{path}.image.source.url.url: Only HTTPS URLs are supported";
            default:
                return $"{path}.image.source: Input tag '{Str(source, "type")}' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'";
        }
    }

    private static bool IsBase64(string data)
    {
        var buffer = new byte[(data.Length * 3 / 4) + 3];
        return Convert.TryFromBase64String(data, buffer, out _);
    }

    private static string? ToolUse(JsonElement block, string path, HashSet<string> toolUses)
    {
        if (Str(block, "id") is not { } id || !ToolId().IsMatch(id))
        {
            return $"{path}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'";
        }

        if (Str(block, "name") is not { } name || !ToolName().IsMatch(name))
        {
            return $"{path}.tool_use.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'";
        }

        if (!block.TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Object)
        {
            return $"{path}.tool_use.input: Input should be a valid dictionary";
        }

        if (!toolUses.Add(id))
        {
            return $"{path}: `tool_use` ids must be unique";
        }

        return null;
    }

    private static string? ToolResult(JsonElement block, string path, HashSet<string> previousToolUses, HashSet<string> results, bool afterOtherContent)
    {
        if (Str(block, "tool_use_id") is not { } id || !ToolId().IsMatch(id))
        {
            return $"{path}.tool_result.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'";
        }

        if (!previousToolUses.Contains(id))
        {
            return $"{path}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.";
        }

        if (afterOtherContent)
        {
            return $"{path}: `tool_result` blocks must come first in the content, before any other block";
        }

        if (block.TryGetProperty("content", out var content))
        {
            if (content.ValueKind == JsonValueKind.Array)
            {
                var k = 0;
                foreach (var part in content.EnumerateArray())
                {
                    var partPath = $"{path}.tool_result.content.{k++}";
                    var error = Str(part, "type") switch
                    {
                        "text" => Text(part, partPath),
                        "image" => Image(part, partPath),
                        var other => $"{partPath}: Input tag '{other}' found using 'type' does not match any of the expected tags: 'text', 'image'",
                    };
                    if (error is not null)
                    {
                        return error;
                    }
                }
            }
            else if (content.ValueKind != JsonValueKind.String)
            {
                return $"{path}.tool_result.content: Input should be a valid string or list";
            }
        }

        if (block.TryGetProperty("is_error", out var isError) && isError.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return $"{path}.tool_result.is_error: Input should be a valid boolean";
        }

        results.Add(id);
        return null;
    }

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
