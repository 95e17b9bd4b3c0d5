using System.Text;
using System.Text.Json;
using Roxy.Api.Providers.Anthropic;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>What a tool call becomes in an Anthropic <c>tool_use</c> block: its id and its <c>input</c> object.</summary>
public static class AnthropicToolUse
{
    /// <summary>The key a tool call's arguments are kept under when they are not a JSON object.</summary>
    public const string RawArgumentsKey = "_raw_arguments";

    /// <summary>
    /// The provider's id made one Anthropic accepts (<see cref="ToolCallIds"/>; OpenAI's <c>call_…</c> ids pass
    /// unchanged), so the client's next turn can go to an Anthropic target too; one the provider did not give is made
    /// from the message id and the call's number.
    /// </summary>
    public static string Id(string? id, string messageId, int index) =>
        string.IsNullOrEmpty(id)
            ? "toolu_" + (messageId.StartsWith("msg_", StringComparison.Ordinal) ? messageId[4..] : messageId) + "_" + index.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : ToolCallIds.Sanitize(id);

    /// <summary>
    /// <c>"input": …</c> for a whole answer's tool call. Anthropic's <c>input</c> is always an object: arguments that
    /// are one are written as they are, none (empty) are <c>{}</c>, and anything else (JSON cut short by
    /// <c>max_tokens</c>, an array, plain text) is kept whole as a string under <see cref="RawArgumentsKey"/>, so what
    /// the model wrote still reaches the client (whose tool then reports the missing parameters) instead of vanishing.
    /// </summary>
    public static void WriteInput(Utf8JsonWriter json, string arguments)
    {
        json.WritePropertyName("input"u8);
        if (string.IsNullOrWhiteSpace(arguments))
        {
            json.WriteStartObject();
            json.WriteEndObject();
            return;
        }

        var utf8 = Encoding.UTF8.GetBytes(arguments);
        if (IsObject(utf8))
        {
            json.WriteRawValue(utf8, skipInputValidation: true);
            return;
        }

        json.WriteStartObject();
        json.WriteString(RawArgumentsKey, arguments);
        json.WriteEndObject();
    }

    /// <summary>The whole text is one JSON object (whitespace around it aside).</summary>
    public static bool IsObject(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = Proxy.ChatRequestReader.MaxDepth });
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
}
