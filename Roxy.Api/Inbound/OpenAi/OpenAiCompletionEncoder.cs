using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Roxy.Api.Protocols;

namespace Roxy.Api.Inbound.OpenAi;

/// <summary>Encodes a whole answer decoded from another protocol as an OpenAI <c>chat.completion</c>.</summary>
public static class OpenAiCompletionEncoder
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(ChatCompletion completion, long created, IBufferWriter<byte> output)
    {
        using var json = new Utf8JsonWriter(output, Options);
        json.WriteStartObject();
        json.WriteString("id", completion.Id);
        json.WriteString("object", "chat.completion");
        json.WriteNumber("created", created);
        json.WriteString("model", completion.Model);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("message");
        json.WriteString("role", "assistant");
        if (completion.Text is null)
        {
            json.WriteNull("content");
        }
        else
        {
            json.WriteString("content", completion.Text);
        }

        json.WriteNull("refusal");
        if (completion.ToolCalls.Count > 0)
        {
            json.WriteStartArray("tool_calls");
            foreach (var call in completion.ToolCalls)
            {
                json.WriteStartObject();
                json.WriteString("id", call.Id);
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", call.Name);
                json.WriteString("arguments", call.Arguments);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
        json.WriteNull("logprobs");
        json.WriteString("finish_reason", FinishReasons.ToOpenAi(completion.Finish));
        json.WriteEndObject();
        json.WriteEndArray();
        if (completion.UsageKnown)
        {
            OpenAiUsage.Write(json, completion.Usage);
        }

        json.WriteEndObject();
    }
}
