using System.Text;
using System.Text.Json;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;

namespace Roxy.Api.Providers.Anthropic;

/// <summary>
/// Reads a whole Anthropic message (<c>{"type":"message","content":[…],"stop_reason","usage"}</c>) into a
/// <see cref="ChatCompletion"/>: text blocks joined, <c>tool_use</c> blocks as tool calls whose arguments are the
/// <c>input</c> object as compact JSON text, thinking and server-tool blocks left out.
/// </summary>
public static class AnthropicAnswerDecoder
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = ChatRequestReader.MaxDepth };

    /// <param name="translate">False: only check it and read the usage (the client speaks Anthropic too).</param>
    public static DecodedAnswer Decode(ReadOnlySpan<byte> body, bool translate)
    {
        JsonDocument document;
        try
        {
            // JsonDocument.Parse needs memory, not a span: one copy of a completion, on the translated path only.
            document = JsonDocument.Parse(body.ToArray(), Options);
        }
        catch (JsonException)
        {
            return new DecodedAnswer(false, default, false);
        }

        using (document)
        {
            try
            {
                return Read(document.RootElement, translate);
            }
            catch (InvalidOperationException)
            {
                // Escapes that are not valid Unicode (a lone surrogate): as broken as bad JSON.
                return new DecodedAnswer(false, default, false);
            }
        }
    }

    private static DecodedAnswer Read(JsonElement root, bool translate)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("type"u8, out var type) || !type.ValueEquals("message"u8)
            || !root.TryGetProperty("content"u8, out var content) || content.ValueKind != JsonValueKind.Array)
        {
            return new DecodedAnswer(false, default, false);
        }

        var usage = root.TryGetProperty("usage"u8, out var usageElement) && usageElement.ValueKind == JsonValueKind.Object
            ? AnthropicUsage.From(usageElement)
            : default;

        var tokens = usage.ToTokenUsage();
        if (!translate)
        {
            return new DecodedAnswer(true, tokens, usage.Seen);
        }

        StringBuilder? text = null;
        var calls = new List<ToolCall>();
        foreach (var block in content.EnumerateArray())
        {
            if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type"u8, out var blockType))
            {
                continue;
            }

            if (blockType.ValueEquals("text"u8) && block.TryGetProperty("text"u8, out var blockText) && blockText.ValueKind == JsonValueKind.String)
            {
                (text ??= new StringBuilder()).Append(blockText.GetString());
            }
            else if (blockType.ValueEquals("tool_use"u8))
            {
                var arguments = block.TryGetProperty("input"u8, out var input) && input.ValueKind == JsonValueKind.Object
                    ? AnthropicJson.Compact(input)
                    : "{}";
                calls.Add(new ToolCall(String(block, "id"u8) ?? "", String(block, "name"u8) ?? "", arguments));
            }
        }

        var completion = new ChatCompletion(
            String(root, "id"u8) ?? "",
            String(root, "model"u8) ?? "",
            text?.ToString(),
            calls,
            AnthropicStopReasons.ToFinish(String(root, "stop_reason"u8)),
            tokens,
            usage.Seen);
        return new DecodedAnswer(true, tokens, usage.Seen, completion);
    }

    private static string? String(JsonElement element, ReadOnlySpan<byte> name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
