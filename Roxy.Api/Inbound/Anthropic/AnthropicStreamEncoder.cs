using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Roxy.Api.Protocols;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// Encodes Roxy's events as Anthropic's named SSE events (<c>event: name\ndata: json\n\n</c>), in the order its SDKs
/// check: one <c>message_start</c> (input tokens as Roxy counted the prompt, never 0), then content blocks with
/// indices from 0, each <c>content_block_start</c>, its deltas and <c>content_block_stop</c> before the next one opens,
/// then <c>message_delta</c> (stop reason and the provider's usage) and <c>message_stop</c>. An error after the start
/// is <c>event: error</c>, and nothing follows it.
/// </summary>
/// <remarks>
/// Only one block is open at a time, and OpenAI-compatible providers may interleave parallel tool calls (fragments
/// of call 0 after call 1 began). So a tool block is closed only once its arguments so far form a whole JSON value:
/// after that no fragment can belong to it (what comes after the value is not valid JSON for it and is dropped; some
/// vLLM tool parsers repeat a tail). A tool call (or text) that arrives while the open tool call's arguments are
/// still unfinished is held, with everything after it; once the open call's value is whole, the held blocks are
/// written in order (whole when they are whole, the last one going on live), and the stream is live again. Calls
/// streamed one after the other, as OpenAI and most servers stream them, therefore go out live; interleaved ones go
/// out as soon as their order allows. What is held is capped (<see cref="MaxHeldChars"/>): beyond it the stream
/// ends with an error rather than growing without bound.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The writer owns no resource: it is always flushed into an output it does not own.")]
public sealed class AnthropicStreamEncoder(string messageId, long inputTokens, string fallbackModel)
{
    /// <summary>
    /// The most held text and arguments, in characters (8 MiB of the ASCII JSON that tool arguments mostly are): far
    /// more than interleaved calls hold in practice, and a bound on what a provider can make Roxy keep.
    /// </summary>
    public const int MaxHeldChars = 8 * 1024 * 1024;

    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private string _model = fallbackModel;
    private bool _started;

    // Completed, or ended by an error: nothing more is written.
    private bool _ended;
    private int _nextIndex;
    private Block _open;
    private int _openTool = -1;
    private bool _holding;
    private bool _sawToolCalls;
    private FinishReason _finish;
    private TokenUsage _usage;
    private bool _usageKnown;
    private int _deltas;
    private Utf8JsonWriter? _json;

    // By Roxy's tool call number (0-based, dense).
    private readonly List<ToolCallState> _tools = [];

    // What arrived while an unfinished tool block was open, in order: written once the open block is whole.
    private Queue<HeldBlock>? _held;
    private HeldBlock? _lastHeld;
    private int _heldChars;

    private enum Block
    {
        None,
        Text,
        Tool,
    }

    private enum ToolMode
    {
        Live,
        Held,
        Closed,
    }

    public void Write(in ChatEvent chatEvent, IBufferWriter<byte> output)
    {
        if (_ended)
        {
            return;
        }

        switch (chatEvent.Kind)
        {
            case ChatEventKind.Start:
                if (!string.IsNullOrEmpty(chatEvent.Model))
                {
                    _model = chatEvent.Model;
                }

                Begin(output);
                return;
            case ChatEventKind.TextDelta:
                Text(chatEvent.Text, output);
                return;
            case ChatEventKind.ToolCallStart:
                ToolStart(chatEvent.ToolIndex, chatEvent.ToolCallId, chatEvent.ToolName, output);
                return;
            case ChatEventKind.ToolCallArguments:
                ToolArguments(chatEvent.ToolIndex, chatEvent.Text, output);
                return;
            case ChatEventKind.Finish:
                _finish = chatEvent.Finish;
                return;
            case ChatEventKind.Usage:
                _usage = chatEvent.Usage;
                _usageKnown = true;
                return;
            case ChatEventKind.Error:
                Error(chatEvent.ErrorType, chatEvent.Text, output);
                return;
        }
    }

    /// <summary>
    /// The end of a stream that went well: the open block closed, held blocks written whole, then
    /// <c>message_delta</c> and <c>message_stop</c>.
    /// </summary>
    public void Complete(IBufferWriter<byte> output)
    {
        if (_ended)
        {
            return;
        }

        Begin(output);
        Close(output);
        while (_held is { Count: > 0 })
        {
            WriteHeld(_held.Dequeue(), output);
        }

        // Unknown usage (a provider that never reported it): the prompt as counted, about a token per delta.
        var usage = _usageKnown ? _usage : new TokenUsage(inputTokens, _deltas);
        var json = BeginEvent("event: message_delta\ndata: "u8, output);
        json.WriteStartObject();
        json.WriteString("type"u8, "message_delta"u8);
        json.WriteStartObject("delta"u8);
        json.WriteString("stop_reason"u8, AnthropicStopReason.For(_finish, _sawToolCalls));
        json.WriteNull("stop_sequence"u8);
        json.WriteEndObject();
        AnthropicUsageEncoder.Write(json, usage);
        json.WriteEndObject();
        EndEvent(json, output);
        output.Write("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"u8);
        _ended = true;
    }

    private void Begin(IBufferWriter<byte> output)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        var json = BeginEvent("event: message_start\ndata: "u8, output);
        json.WriteStartObject();
        json.WriteString("type"u8, "message_start"u8);
        json.WriteStartObject("message"u8);
        json.WriteString("id"u8, messageId);
        json.WriteString("type"u8, "message"u8);
        json.WriteString("role"u8, "assistant"u8);
        json.WriteString("model"u8, _model);
        json.WriteStartArray("content"u8);
        json.WriteEndArray();
        json.WriteNull("stop_reason"u8);
        json.WriteNull("stop_sequence"u8);
        json.WriteStartObject("usage"u8);
        json.WriteNumber("input_tokens"u8, inputTokens);
        json.WriteNumber("output_tokens"u8, 0);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
        EndEvent(json, output);
    }

    private void Text(string? text, IBufferWriter<byte> output)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        Begin(output);
        if (!_holding && _open == Block.Tool && !CloseFinishedTool(output))
        {
            _holding = true;
        }

        if (_holding)
        {
            if (_lastHeld is not { Tool: null })
            {
                Hold(new HeldBlock(null));
            }

            if (Charge(_lastHeld!, text.Length, output))
            {
                _lastHeld!.Content.Append(text);
            }

            return;
        }

        if (_open == Block.None)
        {
            WriteTextStart(_nextIndex, output);
            _open = Block.Text;
        }

        WriteDelta(_nextIndex, text, isText: true, output);
    }

    private void ToolStart(int index, string? id, string? name, IBufferWriter<byte> output)
    {
        if (index < 0 || index < _tools.Count)
        {
            // A call numbered twice (or not at all) is not Roxy's decoders' doing; its first start stands.
            return;
        }

        Begin(output);
        _sawToolCalls = true;
        while (_tools.Count < index)
        {
            // Numbers skipped: calls never started, so never written.
            _tools.Add(new ToolCallState(_tools.Count, "", "") { Mode = ToolMode.Closed });
        }

        var tool = new ToolCallState(index, AnthropicToolUse.Id(id, messageId, index), name ?? "");
        _tools.Add(tool);
        if (!_holding && _open == Block.Tool && !CloseFinishedTool(output))
        {
            _holding = true;
        }

        if (_holding)
        {
            tool.Mode = ToolMode.Held;
            tool.Held = new HeldBlock(tool);
            Hold(tool.Held);
            Charge(tool.Held, tool.Id.Length + tool.Name.Length, output);
            return;
        }

        // A text block open: closed first; its deltas are all out already.
        Close(output);
        WriteToolStart(tool, _nextIndex, output);
        _open = Block.Tool;
        _openTool = index;
    }

    private void ToolArguments(int index, string? fragment, IBufferWriter<byte> output)
    {
        if (string.IsNullOrEmpty(fragment) || index < 0 || index >= _tools.Count)
        {
            return;
        }

        var tool = _tools[index];
        if (tool.Mode == ToolMode.Closed)
        {
            // Its arguments were already a whole JSON value, so this cannot be part of them.
            return;
        }

        if (tool.Scan.Complete)
        {
            // Past the end of its value (a repeated tail): only whitespace could still follow a JSON value.
            if (tool.Mode == ToolMode.Held || !string.IsNullOrWhiteSpace(fragment))
            {
                return;
            }
        }
        else
        {
            var taken = tool.Scan.Feed(fragment);
            if (taken < fragment.Length)
            {
                fragment = fragment[..taken];
            }
        }

        if (tool.Mode == ToolMode.Held)
        {
            if (Charge(tool.Held!, fragment.Length, output))
            {
                tool.Held!.Content.Append(fragment);
            }

            return;
        }

        WriteDelta(_nextIndex, fragment, isText: false, output);
        if (_holding && tool.Scan.Complete)
        {
            Release(output);
        }
    }

    private void Hold(HeldBlock held)
    {
        (_held ??= new Queue<HeldBlock>()).Enqueue(held);
        _lastHeld = held;
    }

    // Counts what a held block keeps against the cap; false past it: the stream has ended with an error, and what
    // was held is let go.
    private bool Charge(HeldBlock held, int chars, IBufferWriter<byte> output)
    {
        held.Charged += chars;
        _heldChars += chars;
        if (_heldChars <= MaxHeldChars)
        {
            return true;
        }

        _held = null;
        _lastHeld = null;
        Error(null, "The provider interleaved more tool-call data than Roxy holds.", output);
        return false;
    }

    /// <summary>
    /// The open tool block is whole: it is closed and the held blocks are written in order, each whole one
    /// opened and closed, until one that is still streaming, which stays open and live. The stream is live again
    /// when nothing is held behind the open block.
    /// </summary>
    private void Release(IBufferWriter<byte> output)
    {
        while (_open != Block.Tool || _tools[_openTool].Scan.Complete)
        {
            Close(output);
            if (_held is not { Count: > 0 })
            {
                break;
            }

            var held = _held.Dequeue();
            _heldChars -= held.Charged;
            var index = _nextIndex;
            if (held.Tool is { } tool)
            {
                WriteToolStart(tool, index, output);
                tool.Mode = ToolMode.Live;
                tool.Held = null;
                _open = Block.Tool;
                _openTool = tool.Number;
            }
            else
            {
                WriteTextStart(index, output);
                _open = Block.Text;
            }

            if (held.Content.Length > 0)
            {
                WriteDelta(index, held.Content.ToString(), isText: held.Tool is null, output);
            }

            if (_held.Count == 0)
            {
                // The last held block is the open one and gets what comes next, text or arguments, live.
                _lastHeld = null;
                _holding = false;
                return;
            }
        }

        _holding = _held is { Count: > 0 };
    }

    // The open tool block is closed if its arguments are whole; false if it must stay open.
    private bool CloseFinishedTool(IBufferWriter<byte> output)
    {
        if (!_tools[_openTool].Scan.Complete)
        {
            return false;
        }

        Close(output);
        return true;
    }

    private void Close(IBufferWriter<byte> output)
    {
        if (_open == Block.None)
        {
            return;
        }

        if (_open == Block.Tool)
        {
            _tools[_openTool].Mode = ToolMode.Closed;
            _openTool = -1;
        }

        WriteStop(_nextIndex++, output);
        _open = Block.None;
    }

    private void WriteHeld(HeldBlock held, IBufferWriter<byte> output)
    {
        var index = _nextIndex++;
        if (held.Tool is { } tool)
        {
            WriteToolStart(tool, index, output);
            tool.Mode = ToolMode.Closed;
        }
        else
        {
            WriteTextStart(index, output);
        }

        if (held.Content.Length > 0)
        {
            WriteDelta(index, held.Content.ToString(), isText: held.Tool is null, output);
        }

        WriteStop(index, output);
    }

    private void WriteTextStart(int index, IBufferWriter<byte> output)
    {
        var json = BeginEvent("event: content_block_start\ndata: "u8, output);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_start"u8);
        json.WriteNumber("index"u8, index);
        json.WriteStartObject("content_block"u8);
        json.WriteString("type"u8, "text"u8);
        json.WriteString("text"u8, ""u8);
        json.WriteEndObject();
        json.WriteEndObject();
        EndEvent(json, output);
    }

    private void WriteToolStart(ToolCallState tool, int index, IBufferWriter<byte> output)
    {
        var json = BeginEvent("event: content_block_start\ndata: "u8, output);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_start"u8);
        json.WriteNumber("index"u8, index);
        json.WriteStartObject("content_block"u8);
        json.WriteString("type"u8, "tool_use"u8);
        json.WriteString("id"u8, tool.Id);
        json.WriteString("name"u8, tool.Name);
        json.WriteStartObject("input"u8);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
        EndEvent(json, output);
    }

    private void WriteDelta(int index, string text, bool isText, IBufferWriter<byte> output)
    {
        _deltas++;
        var json = BeginEvent("event: content_block_delta\ndata: "u8, output);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_delta"u8);
        json.WriteNumber("index"u8, index);
        json.WriteStartObject("delta"u8);
        if (isText)
        {
            json.WriteString("type"u8, "text_delta"u8);
            json.WriteString("text"u8, text);
        }
        else
        {
            json.WriteString("type"u8, "input_json_delta"u8);
            json.WriteString("partial_json"u8, text);
        }

        json.WriteEndObject();
        json.WriteEndObject();
        EndEvent(json, output);
    }

    private void WriteStop(int index, IBufferWriter<byte> output)
    {
        var json = BeginEvent("event: content_block_stop\ndata: "u8, output);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_stop"u8);
        json.WriteNumber("index"u8, index);
        json.WriteEndObject();
        EndEvent(json, output);
    }

    // Anthropic's own mid-stream error shape: its SDKs raise it as the API error it names.
    private void Error(string? openAiType, string? message, IBufferWriter<byte> output)
    {
        output.Write("event: error\ndata: "u8);
        AnthropicErrors.Write(output, AnthropicErrors.TypeForOpenAiType(openAiType), message ?? "The provider failed while answering.", requestId: null);
        output.Write("\n\n"u8);
        _ended = true;
    }

    private Utf8JsonWriter BeginEvent(ReadOnlySpan<byte> prefix, IBufferWriter<byte> output)
    {
        output.Write(prefix);
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

    private static void EndEvent(Utf8JsonWriter json, IBufferWriter<byte> output)
    {
        json.Flush();
        output.Write("\n\n"u8);
    }

    private sealed class ToolCallState(int number, string id, string name)
    {
        /// <summary>Roxy's tool call number: its place in the encoder's list.</summary>
        public int Number { get; } = number;
        public string Id { get; } = id;
        public string Name { get; } = name;
        public ToolMode Mode { get; set; }
        public HeldBlock? Held { get; set; }
        public JsonValueEnd Scan;
    }

    private sealed class HeldBlock(ToolCallState? tool)
    {
        /// <summary>Null: a text block.</summary>
        public ToolCallState? Tool { get; } = tool;
        public StringBuilder Content { get; } = new();

        /// <summary>What this block counts against <see cref="MaxHeldChars"/>.</summary>
        public int Charged { get; set; }
    }

    /// <summary>
    /// Follows streamed JSON text just far enough to tell when its first value is whole: brackets outside strings, and
    /// string escapes. A few comparisons a character, on the translated path only.
    /// </summary>
    private struct JsonValueEnd
    {
        private int _depth;
        private bool _inString;
        private bool _escape;

        public bool Complete { get; private set; }

        /// <summary>How many of the fragment's characters belong to the value: all, or those up to its end.</summary>
        public int Feed(string fragment)
        {
            for (var i = 0; i < fragment.Length; i++)
            {
                if (Complete)
                {
                    return i;
                }

                var c = fragment[i];
                if (_inString)
                {
                    if (_escape)
                    {
                        _escape = false;
                    }
                    else if (c == '\\')
                    {
                        _escape = true;
                    }
                    else if (c == '"')
                    {
                        _inString = false;
                        Complete = _depth == 0;
                    }

                    continue;
                }

                switch (c)
                {
                    case '"':
                        _inString = true;
                        break;
                    case '{' or '[':
                        _depth++;
                        break;
                    case '}' or ']':
                        Complete = --_depth <= 0;
                        break;
                }
            }

            return fragment.Length;
        }
    }
}
