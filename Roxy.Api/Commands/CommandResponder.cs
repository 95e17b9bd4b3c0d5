using System.Buffers;
using System.Text.Json;

namespace Roxy.Api.Commands;

/// <summary>
/// Answers a command the way a model would: a <c>chat.completion</c> from model <c>roxy</c>, or the same content
/// as <c>chat.completion.chunk</c> events when the client asked to stream, so any chat UI shows it.
/// </summary>
public static class CommandResponder
{
    public const string Model = "roxy";

    // Markdown is full of backticks and angle brackets; escaping them as \u0060 is valid but unreadable raw.
    private static readonly JsonWriterOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpContext http, string requestId, string markdown, bool stream, bool includeUsage, TimeProvider time)
    {
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers["x-roxy-model"] = Model;
        response.Headers["x-roxy-provider"] = Model;
        response.Headers["x-roxy-cache"] = "bypass";
        var id = "chatcmpl-" + requestId;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        if (!stream)
        {
            response.ContentType = "application/json";
            await using var json = new Utf8JsonWriter(response.BodyWriter, Relaxed);
            Start(json, id, "chat.completion", created);
            json.WriteStartObject("message");
            json.WriteString("role", "assistant");
            json.WriteString("content", markdown);
            json.WriteNull("refusal");
            json.WriteEndObject();
            json.WriteString("finish_reason", "stop");
            json.WriteEndObject();
            json.WriteEndArray();
            WriteUsage(json);
            json.WriteEndObject();
            await json.FlushAsync(http.RequestAborted);
            return;
        }

        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await WriteEventAsync(http, json =>
        {
            Start(json, id, "chat.completion.chunk", created);
            json.WriteStartObject("delta");
            json.WriteString("role", "assistant");
            json.WriteString("content", markdown);
            json.WriteEndObject();
            json.WriteNull("finish_reason");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        });
        await WriteEventAsync(http, json =>
        {
            Start(json, id, "chat.completion.chunk", created);
            json.WriteStartObject("delta");
            json.WriteEndObject();
            json.WriteString("finish_reason", "stop");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        });
        if (includeUsage)
        {
            await WriteEventAsync(http, json =>
            {
                json.WriteStartObject();
                json.WriteString("id", id);
                json.WriteString("object", "chat.completion.chunk");
                json.WriteNumber("created", created);
                json.WriteString("model", Model);
                json.WriteStartArray("choices");
                json.WriteEndArray();
                WriteUsage(json);
                json.WriteEndObject();
            });
        }

        await response.BodyWriter.WriteAsync("data: [DONE]\n\n"u8.ToArray(), http.RequestAborted);
        await response.BodyWriter.FlushAsync(http.RequestAborted);
    }

    private static void Start(Utf8JsonWriter json, string id, string kind, long created)
    {
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("object", kind);
        json.WriteNumber("created", created);
        json.WriteString("model", Model);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
    }

    private static void WriteUsage(Utf8JsonWriter json)
    {
        // Commands never reach a provider: they cost no tokens.
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", 0);
        json.WriteNumber("completion_tokens", 0);
        json.WriteNumber("total_tokens", 0);
        json.WriteEndObject();
    }

    private static async Task WriteEventAsync(HttpContext http, Action<Utf8JsonWriter> write)
    {
        var writer = http.Response.BodyWriter;
        writer.Write("data: "u8);
        using (var json = new Utf8JsonWriter(writer, Relaxed))
        {
            write(json);
        }

        writer.Write("\n\n"u8);
        await writer.FlushAsync(http.RequestAborted);
    }
}
