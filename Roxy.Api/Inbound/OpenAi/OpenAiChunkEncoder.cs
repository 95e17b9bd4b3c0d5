using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Roxy.Api.Protocols;

namespace Roxy.Api.Inbound.OpenAi;

/// <summary>
/// Encodes Roxy's events as OpenAI <c>chat.completion.chunk</c> SSE events: every chunk carries the same id, the
/// first one the assistant's role, the last one the finish reason; the usage chunk (<c>choices: []</c>) only for a
/// client that asked; then <c>[DONE]</c>.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The writer owns no resource: it is always flushed into an output it does not own.")]
public sealed class OpenAiChunkEncoder(string fallbackId, long created, bool includeUsage)
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private string _id = fallbackId;
    private string _model = "";
    private bool _roleSent;
    private TokenUsage _usage;
    private bool _usageKnown;
    private Utf8JsonWriter? _json;

    /// <summary>Writes the chunk an event becomes, if any (a start or usage only updates what later chunks say).</summary>
    public void Write(in ChatEvent chatEvent, IBufferWriter<byte> output)
    {
        switch (chatEvent.Kind)
        {
            case ChatEventKind.Start:
                if (!string.IsNullOrEmpty(chatEvent.ResponseId))
                {
                    _id = chatEvent.ResponseId;
                }

                _model = chatEvent.Model ?? _model;
                return;
            case ChatEventKind.Usage:
                _usage = chatEvent.Usage;
                _usageKnown = true;
                return;
            case ChatEventKind.Error:
                // OpenAI's own mid-stream error shape: the SDKs raise it instead of ending the stream quietly.
                output.Write("data: "u8);
                var error = Writer(output);
                error.WriteStartObject();
                error.WriteStartObject("error");
                error.WriteString("message", chatEvent.Text);
                error.WriteString("type", chatEvent.ErrorType ?? "server_error");
                error.WriteNull("param");
                error.WriteNull("code");
                error.WriteEndObject();
                error.WriteEndObject();
                error.Flush();
                output.Write("\n\n"u8);
                return;
        }

        var json = BeginChunk(output);
        json.WriteStartObject("delta");
        if (!_roleSent)
        {
            json.WriteString("role", "assistant");
            _roleSent = true;
        }

        switch (chatEvent.Kind)
        {
            case ChatEventKind.TextDelta:
                json.WriteString("content", chatEvent.Text);
                break;
            case ChatEventKind.ToolCallStart:
            case ChatEventKind.ToolCallArguments:
                json.WriteStartArray("tool_calls");
                json.WriteStartObject();
                json.WriteNumber("index", chatEvent.ToolIndex);
                if (chatEvent.Kind == ChatEventKind.ToolCallStart)
                {
                    json.WriteString("id", chatEvent.ToolCallId);
                    json.WriteString("type", "function");
                    json.WriteStartObject("function");
                    json.WriteString("name", chatEvent.ToolName);
                    json.WriteString("arguments", "");
                }
                else
                {
                    json.WriteStartObject("function");
                    json.WriteString("arguments", chatEvent.Text);
                }

                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndArray();
                break;
        }

        json.WriteEndObject();
        if (chatEvent.Kind == ChatEventKind.Finish)
        {
            json.WriteString("finish_reason", FinishReasons.ToOpenAi(chatEvent.Finish));
        }
        else
        {
            json.WriteNull("finish_reason");
        }

        EndChunk(json, output);
    }

    /// <summary>The end of a stream that went well: the usage chunk when asked for, then <c>[DONE]</c>.</summary>
    public void Complete(IBufferWriter<byte> output)
    {
        if (includeUsage && _usageKnown)
        {
            output.Write("data: "u8);
            var json = Writer(output);
            json.WriteStartObject();
            WriteHead(json);
            json.WriteStartArray("choices");
            json.WriteEndArray();
            OpenAiUsage.Write(json, _usage);
            json.WriteEndObject();
            json.Flush();
            output.Write("\n\n"u8);
        }

        output.Write("data: [DONE]\n\n"u8);
    }

    private Utf8JsonWriter BeginChunk(IBufferWriter<byte> output)
    {
        output.Write("data: "u8);
        var json = Writer(output);
        json.WriteStartObject();
        WriteHead(json);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        return json;
    }

    private static void EndChunk(Utf8JsonWriter json, IBufferWriter<byte> output)
    {
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        output.Write("\n\n"u8);
    }

    private void WriteHead(Utf8JsonWriter json)
    {
        json.WriteString("id", _id);
        json.WriteString("object", "chat.completion.chunk");
        json.WriteNumber("created", created);
        json.WriteString("model", _model);
    }

    // One writer for the whole stream, pointed at the output again for each chunk.
    private Utf8JsonWriter Writer(IBufferWriter<byte> output)
    {
        if (_json is null)
        {
            _json = new Utf8JsonWriter(output, Options);
        }
        else
        {
            _json.Reset(output);
        }

        return _json;
    }
}
