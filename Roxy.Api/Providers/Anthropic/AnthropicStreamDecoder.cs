using System.Text.Json;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;

namespace Roxy.Api.Providers.Anthropic;

/// <summary>
/// Reads Anthropic's named SSE events into Roxy's events:
/// <list type="bullet">
/// <item><c>message_start</c> keeps the id, model and input usage and says nothing yet: the relay commits only at
/// content, so an <c>overloaded_error</c> after it can still fail over. The start event goes out with the first
/// content.</item>
/// <item><c>text_delta</c> is text; a <c>tool_use</c> block starts a tool call numbered by a count of tool_use blocks
/// (Anthropic numbers all blocks), its <c>input_json_delta</c>s are argument fragments, and one that ends without any
/// fragment gets <c>"{}"</c>, so every call has parseable arguments.</item>
/// <item>Thinking, redacted thinking, signatures, citations and server-tool blocks are not part of an OpenAI answer
/// and are skipped, as are <c>ping</c> and event types this build does not know (Anthropic may add some).</item>
/// <item><c>message_delta</c> is the finish reason and the final usage (its <c>output_tokens</c> is cumulative);
/// <c>message_stop</c> is the end; <c>event: error</c> is an error, and so is an event that is not JSON.</item>
/// </list>
/// </summary>
public sealed class AnthropicStreamDecoder : IStreamDecoder
{
    private const string MalformedMessage = "The provider sent a malformed stream event.";

    private AnthropicUsage _usage;
    private string? _id;
    private string? _model;
    private bool _started;
    private int _toolCalls;

    // Open tool_use blocks by Anthropic's block index: the tool call's number and whether it had any argument.
    private List<ToolBlock>? _toolBlocks;

    public TokenUsage Usage => _usage.ToTokenUsage();

    /// <summary>Set at <c>message_delta</c>, when the output count is final; the input counts alone are not the usage.</summary>
    public bool UsageKnown { get; private set; }

    public UpstreamEventKind Decode(ReadOnlySpan<byte> sseEvent, List<ChatEvent>? events)
    {
        var data = AnthropicSse.Data(sseEvent, out var name);
        if (data.IsEmpty)
        {
            // A comment or keep-alive; an error event must say what failed, so one without data is still an error.
            return name.SequenceEqual("error"u8) ? Fail(events, null, null) : UpstreamEventKind.Empty;
        }

        if (events is null)
        {
            return PassThrough(data, name);
        }

        EventData evt;
        try
        {
            evt = EventData.Parse(data);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Untrusted bytes (broken JSON, invalid UTF-8, lone surrogates): never a throw, never a guess.
            return Fail(events, null, MalformedMessage);
        }

        if (!evt.IsObject)
        {
            return Fail(events, null, MalformedMessage);
        }

        var type = evt.Type == EventType.None ? Classify(name) : evt.Type;
        if (type == EventType.Error || name.SequenceEqual("error"u8))
        {
            return Fail(events, evt.ErrorType, evt.ErrorMessage);
        }

        return type switch
        {
            EventType.MessageStart => MessageStart(in evt),
            EventType.ContentBlockStart => BlockStart(in evt, events),
            EventType.ContentBlockDelta => Delta(in evt, events),
            EventType.ContentBlockStop => BlockStop(evt.Index, events),
            EventType.MessageDelta => MessageDelta(in evt, events),
            EventType.MessageStop => MessageStop(events),
            _ => UpstreamEventKind.Empty,
        };
    }

    /// <summary>
    /// For an Anthropic client the events pass through as they are, so only what the relay must know is read: the
    /// usage (message_start, message_delta, parsed) and what each event is (the rest, by name alone). The opening
    /// events are held back until the first delta, so an <c>overloaded_error</c> right after message_start can still
    /// fail over, and the client still gets every event in order.
    /// </summary>
    private UpstreamEventKind PassThrough(ReadOnlySpan<byte> data, ReadOnlySpan<byte> name)
    {
        // Parsed: the events that carry usage or say what failed, and any without a name line to tell it by.
        var type = Classify(name);
        var evt = default(EventData);
        if (type is EventType.None or EventType.MessageStart or EventType.MessageDelta or EventType.Error)
        {
            try
            {
                evt = EventData.Parse(data);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                return UpstreamEventKind.Error;
            }

            if (!evt.IsObject)
            {
                return UpstreamEventKind.Error;
            }

            type = type == EventType.None ? evt.Type : type;
        }

        switch (type)
        {
            case EventType.Error:
                return UpstreamEventKind.Error;
            case EventType.MessageStart:
                MessageStart(in evt);
                return UpstreamEventKind.Opening;
            case EventType.MessageDelta:
                _usage.Merge(in evt.Usage);
                UsageKnown |= evt.Usage.Seen;
                return UpstreamEventKind.Content;
            case EventType.ContentBlockDelta or EventType.ContentBlockStop:
                return UpstreamEventKind.Content;
            case EventType.MessageStop:
                return UpstreamEventKind.Done;
            default:
                // content_block_start, ping, or an event type newer than this build: the client of the same
                // protocol may know it.
                return name.SequenceEqual("ping"u8) ? UpstreamEventKind.Empty : UpstreamEventKind.Opening;
        }
    }

    private UpstreamEventKind MessageStart(in EventData evt)
    {
        _id ??= evt.MessageId;
        _model ??= evt.MessageModel;
        _usage.Merge(in evt.Usage);
        return UpstreamEventKind.Empty;
    }

    private UpstreamEventKind MessageDelta(in EventData evt, List<ChatEvent> events)
    {
        // Only the counts it names change: output always, input and cache ones in newer API versions.
        _usage.Merge(in evt.Usage);
        UsageKnown |= evt.Usage.Seen;
        Start(events);
        events.Add(ChatEvent.UsageReported(_usage.ToTokenUsage()));
        events.Add(ChatEvent.Finished(evt.StopReason));
        return UpstreamEventKind.Content;
    }

    private UpstreamEventKind MessageStop(List<ChatEvent> events)
    {
        if (!_started)
        {
            // An answer with no content and no message_delta: still one the client can read as finished.
            Start(events);
            events.Add(ChatEvent.Finished(FinishReason.Stop));
        }

        return UpstreamEventKind.Done;
    }

    private UpstreamEventKind Delta(in EventData evt, List<ChatEvent> events)
    {
        if (evt.DeltaType == DeltaType.Text)
        {
            if (string.IsNullOrEmpty(evt.DeltaText))
            {
                return UpstreamEventKind.Empty;
            }

            Start(events);
            events.Add(ChatEvent.TextDelta(evt.DeltaText));
            return UpstreamEventKind.Content;
        }

        if (evt.DeltaType == DeltaType.InputJson)
        {
            var block = FindTool(evt.Index);
            if (block < 0 || string.IsNullOrEmpty(evt.PartialJson))
            {
                // Anthropic often opens with an empty fragment; an OpenAI chunk with empty arguments says nothing.
                return UpstreamEventKind.Empty;
            }

            _toolBlocks![block] = _toolBlocks[block] with { HasArguments = true };
            Start(events);
            events.Add(ChatEvent.ToolCallArguments(_toolBlocks[block].ToolIndex, evt.PartialJson));
            return UpstreamEventKind.Content;
        }

        // thinking_delta, signature_delta, citations_delta: not part of an OpenAI chat answer.
        return UpstreamEventKind.Empty;
    }

    private UpstreamEventKind BlockStart(in EventData evt, List<ChatEvent> events)
    {
        if (evt.BlockType == BlockType.Text)
        {
            if (string.IsNullOrEmpty(evt.BlockText))
            {
                return UpstreamEventKind.Empty;
            }

            Start(events);
            events.Add(ChatEvent.TextDelta(evt.BlockText));
            return UpstreamEventKind.Content;
        }

        if (evt.BlockType != BlockType.ToolUse)
        {
            // thinking, redacted_thinking, server_tool_use, web_search_tool_result, …
            return UpstreamEventKind.Empty;
        }

        var toolIndex = _toolCalls++;
        var hasInput = evt.BlockInput is { Length: > 0 } input && input != "{}";
        (_toolBlocks ??= []).Add(new ToolBlock(evt.Index, toolIndex, hasInput));
        Start(events);
        events.Add(ChatEvent.ToolCallStarted(toolIndex, evt.BlockId ?? "", evt.BlockName ?? ""));
        if (hasInput)
        {
            // Streams open tool_use blocks with an empty input; one that already carries its input says it here.
            events.Add(ChatEvent.ToolCallArguments(toolIndex, evt.BlockInput!));
        }

        return UpstreamEventKind.Content;
    }

    private UpstreamEventKind BlockStop(int index, List<ChatEvent> events)
    {
        var block = FindTool(index);
        if (block < 0)
        {
            return UpstreamEventKind.Empty;
        }

        var tool = _toolBlocks![block];
        _toolBlocks.RemoveAt(block);
        if (tool.HasArguments)
        {
            return UpstreamEventKind.Empty;
        }

        // A tool without parameters streams no fragment at all; OpenAI clients parse arguments, and "" is not JSON.
        Start(events);
        events.Add(ChatEvent.ToolCallArguments(tool.ToolIndex, "{}"));
        return UpstreamEventKind.Content;
    }

    private static UpstreamEventKind Fail(List<ChatEvent>? events, string? anthropicType, string? message)
    {
        if (events is null)
        {
            return UpstreamEventKind.Error;
        }

        var type = AnthropicErrorBody.OpenAiType(anthropicType);
        var text = AnthropicErrorBody.MayQuoteTheKey(anthropicType) || string.IsNullOrEmpty(message)
            ? "The provider failed while answering" + (anthropicType is null ? "." : $" ({anthropicType}).")
            : message;
        events.Add(ChatEvent.Failed(type, text));
        return UpstreamEventKind.Error;
    }

    private void Start(List<ChatEvent> events)
    {
        if (!_started)
        {
            _started = true;
            events.Add(ChatEvent.Started(_id, _model));
        }
    }

    private int FindTool(int blockIndex)
    {
        if (_toolBlocks is null)
        {
            return -1;
        }

        for (var i = 0; i < _toolBlocks.Count; i++)
        {
            if (_toolBlocks[i].BlockIndex == blockIndex)
            {
                return i;
            }
        }

        return -1;
    }

    private readonly record struct ToolBlock(int BlockIndex, int ToolIndex, bool HasArguments);

    private static EventType Classify(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("message_start"u8) ? EventType.MessageStart
        : name.SequenceEqual("content_block_start"u8) ? EventType.ContentBlockStart
        : name.SequenceEqual("content_block_delta"u8) ? EventType.ContentBlockDelta
        : name.SequenceEqual("content_block_stop"u8) ? EventType.ContentBlockStop
        : name.SequenceEqual("message_delta"u8) ? EventType.MessageDelta
        : name.SequenceEqual("message_stop"u8) ? EventType.MessageStop
        : name.SequenceEqual("error"u8) ? EventType.Error
        : name.IsEmpty ? EventType.None
        : EventType.Other;

    private static EventType Classify(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("message_start"u8) ? EventType.MessageStart
        : reader.ValueTextEquals("content_block_start"u8) ? EventType.ContentBlockStart
        : reader.ValueTextEquals("content_block_delta"u8) ? EventType.ContentBlockDelta
        : reader.ValueTextEquals("content_block_stop"u8) ? EventType.ContentBlockStop
        : reader.ValueTextEquals("message_delta"u8) ? EventType.MessageDelta
        : reader.ValueTextEquals("message_stop"u8) ? EventType.MessageStop
        : reader.ValueTextEquals("error"u8) ? EventType.Error
        : EventType.Other;

    private enum EventType
    {
        None,
        MessageStart,
        ContentBlockStart,
        ContentBlockDelta,
        ContentBlockStop,
        MessageDelta,
        MessageStop,
        Error,

        /// <summary><c>ping</c>, and types this build does not know.</summary>
        Other,
    }

    private enum BlockType
    {
        Other,
        Text,
        ToolUse,
    }

    private enum DeltaType
    {
        Other,
        Text,
        InputJson,
    }

    /// <summary>The fields of one event's JSON that matter, read in one pass whatever their order.</summary>
    private ref struct EventData
    {
        public bool IsObject;
        public EventType Type;
        public int Index;
        public BlockType BlockType;
        public string? BlockId;
        public string? BlockName;
        public string? BlockText;
        public string? BlockInput;
        public DeltaType DeltaType;
        public string? DeltaText;
        public string? PartialJson;
        public FinishReason StopReason;
        public string? MessageId;
        public string? MessageModel;
        public AnthropicUsage Usage;
        public string? ErrorType;
        public string? ErrorMessage;

        public static EventData Parse(ReadOnlySpan<byte> json)
        {
            var evt = default(EventData);
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return evt;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    evt.Type = reader.TokenType == JsonTokenType.String ? Classify(ref reader) : EventType.Other;
                }
                else if (reader.ValueTextEquals("index"u8))
                {
                    reader.Read();
                    evt.Index = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var index) ? index : -1;
                }
                else if (reader.ValueTextEquals("content_block"u8))
                {
                    reader.Read();
                    evt.ReadBlock(ref reader, json);
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    evt.ReadDelta(ref reader);
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    evt.ReadUsage(ref reader);
                }
                else if (reader.ValueTextEquals("message"u8))
                {
                    reader.Read();
                    evt.ReadMessage(ref reader);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    evt.ReadError(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // Trailing bytes after the object are as malformed as a broken object.
            evt.IsObject = reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0 && !reader.Read();
            return evt;
        }

        private void ReadBlock(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    BlockType = reader.TokenType != JsonTokenType.String ? BlockType.Other
                        : reader.ValueTextEquals("text"u8) ? BlockType.Text
                        : reader.ValueTextEquals("tool_use"u8) ? BlockType.ToolUse
                        : BlockType.Other;
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    BlockId = Text(ref reader);
                }
                else if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    BlockName = Text(ref reader);
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    BlockText = Text(ref reader);
                }
                else if (reader.ValueTextEquals("input"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        var start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        BlockInput = Compact(json[start..((int)reader.TokenStartIndex + 1)]);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        private void ReadDelta(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    DeltaType = reader.TokenType != JsonTokenType.String ? DeltaType.Other
                        : reader.ValueTextEquals("text_delta"u8) ? DeltaType.Text
                        : reader.ValueTextEquals("input_json_delta"u8) ? DeltaType.InputJson
                        : DeltaType.Other;
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    DeltaText = Text(ref reader);
                }
                else if (reader.ValueTextEquals("partial_json"u8))
                {
                    reader.Read();
                    PartialJson = Text(ref reader);
                }
                else if (reader.ValueTextEquals("stop_reason"u8))
                {
                    reader.Read();
                    StopReason = AnthropicStopReasons.ToFinish(Text(ref reader));
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        private void ReadMessage(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    MessageId = Text(ref reader);
                }
                else if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    MessageModel = Text(ref reader);
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    ReadUsage(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        private void ReadUsage(ref Utf8JsonReader reader) => Usage.Read(ref reader);

        private void ReadError(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                var isMessage = reader.ValueTextEquals("message"u8);
                reader.Read();
                if (isType)
                {
                    ErrorType = Text(ref reader);
                }
                else if (isMessage)
                {
                    ErrorMessage = Text(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        private static string? Text(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                reader.Skip();
                return null;
            }

            return reader.GetString();
        }

        private static string Compact(ReadOnlySpan<byte> json)
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
            using var document = JsonDocument.ParseValue(ref reader);
            return AnthropicJson.Compact(document.RootElement);
        }
    }
}
