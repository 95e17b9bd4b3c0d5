using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Roxy.Api.Protocols;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// Encodes a whole answer decoded from another protocol as an Anthropic <c>message</c>: a text block when there is
/// text, then a <c>tool_use</c> block per tool call (both survive), the stop reason and the usage.
/// </summary>
public static class AnthropicMessageEncoder
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Anthropic ids read <c>msg_…</c>; Roxy's are its request ids (<c>req_…</c>), so a message id still leads to its
    /// request log line.
    /// </summary>
    public static string MessageId(string requestId) =>
        "msg_" + (requestId.StartsWith("req_", StringComparison.Ordinal) ? requestId[4..] : requestId);

    /// <param name="fallbackModel">The model named when the provider's answer names none.</param>
    /// <param name="inputEstimate">The prompt as Roxy counted it, for an answer that reported no usage.</param>
    public static void Write(ChatCompletion completion, string messageId, string fallbackModel, long inputEstimate, IBufferWriter<byte> output)
    {
        using var json = new Utf8JsonWriter(output, Options);
        json.WriteStartObject();
        json.WriteString("id"u8, messageId);
        json.WriteString("type"u8, "message"u8);
        json.WriteString("role"u8, "assistant"u8);
        json.WriteString("model"u8, string.IsNullOrEmpty(completion.Model) ? fallbackModel : completion.Model);
        json.WriteStartArray("content"u8);
        if (!string.IsNullOrEmpty(completion.Text))
        {
            json.WriteStartObject();
            json.WriteString("type"u8, "text"u8);
            json.WriteString("text"u8, completion.Text);
            json.WriteEndObject();
        }

        for (var i = 0; i < completion.ToolCalls.Count; i++)
        {
            var call = completion.ToolCalls[i];
            json.WriteStartObject();
            json.WriteString("type"u8, "tool_use"u8);
            json.WriteString("id"u8, AnthropicToolUse.Id(call.Id, messageId, i));
            json.WriteString("name"u8, call.Name);
            AnthropicToolUse.WriteInput(json, call.Arguments);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteString("stop_reason"u8, AnthropicStopReason.For(completion.Finish, completion.ToolCalls.Count > 0));
        json.WriteNull("stop_sequence"u8);
        AnthropicUsageEncoder.Write(json, completion.UsageKnown ? completion.Usage : new TokenUsage(inputEstimate, 0));
        json.WriteEndObject();
    }
}
