using System.Text.Json;
using Roxy.Api.Protocols;
using Roxy.Api.Providers.Anthropic;
using Roxy.Api.Proxy;

namespace Roxy.Api.Providers.OpenAi;

/// <summary>
/// Reads an OpenAI-compatible stream for the relay. For an OpenAI client (<c>events</c> null) it reads only what each
/// event is and the usage it reports: the bytes pass through as they are, and this is the benchmark's hot path.
/// For a client of another protocol each <c>chat.completion.chunk</c> is decoded into Roxy's events:
/// <list type="bullet">
/// <item>the first chunk is the start (its id and model); <c>delta.content</c> (and <c>delta.refusal</c>, which is
/// what the user is shown) is text; reasoning deltas are not part of the answer and are skipped;</item>
/// <item><c>delta.tool_calls[]</c> are numbered 0-based in order of first appearance, whatever the provider's
/// <c>index</c> says; a call's id and name come in its first fragment. A fragment with a new id under an index already
/// seen is a new call (providers that number every call 0), and one without an index belongs to the call its id
/// names, else to the latest;</item>
/// <item><c>finish_reason</c> is the finish, <c>usage</c> the usage (cached prompt tokens included), an error chunk
/// (<c>{"error":…}</c> anywhere in it, or <c>event: error</c>) or an event that is not JSON an error.</item>
/// </list>
/// Each event is of the same <see cref="UpstreamEventKind"/> in both modes, so the relay commits, counts and ends
/// alike: every chunk is content (a reasoning model's long think still resets the idle timeout), except the usage-only
/// chunk Roxy asked for and errors; only an error the pass-through check cannot see (one not first in its chunk, or a
/// chunk that is not JSON) is an error here alone, since there the client reads it itself.
/// </summary>
public sealed class OpenAiStreamDecoder : IStreamDecoder
{
    private const string MalformedMessage = "The provider sent a malformed stream event.";

    private bool _started;

    // Tool calls by the provider's index, in order of first appearance: the position is Roxy's 0-based number.
    private List<ToolSlot>? _tools;

    // One chunk's tool-call fragments, reused from chunk to chunk.
    private List<Fragment>? _fragments;

    public TokenUsage Usage { get; private set; }

    public bool UsageKnown { get; private set; }

    public UpstreamEventKind Decode(ReadOnlySpan<byte> sseEvent, List<ChatEvent>? events)
    {
        if (events is not null)
        {
            return DecodeEvents(sseEvent, events);
        }

        var kind = SseEvent.Inspect(sseEvent, out var usage);
        if (usage.PromptTokens > 0 || usage.CompletionTokens > 0)
        {
            Usage = usage;
            UsageKnown = true;
        }

        return kind switch
        {
            SseEvent.Kind.Content => UpstreamEventKind.Content,
            SseEvent.Kind.Done => UpstreamEventKind.Done,
            SseEvent.Kind.Error => UpstreamEventKind.Error,
            SseEvent.Kind.UsageOnly => UpstreamEventKind.UsageOnly,
            _ => UpstreamEventKind.Empty,
        };
    }

    private UpstreamEventKind DecodeEvents(ReadOnlySpan<byte> sseEvent, List<ChatEvent> events)
    {
        var data = AnthropicSse.Data(sseEvent, out var name);
        var errorEvent = name.SequenceEqual("error"u8);
        if (data.IsEmpty)
        {
            // A comment or keep-alive; an error event must say what failed, so one without data is still an error.
            return errorEvent ? Fail(events, null, null, null) : UpstreamEventKind.Empty;
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            return UpstreamEventKind.Done;
        }

        var fragments = _fragments ??= [];
        fragments.Clear();
        Chunk chunk;
        try
        {
            chunk = Chunk.Parse(data, readHead: !_started, fragments);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Untrusted bytes (broken JSON, invalid UTF-8, lone surrogates): never a throw, never a guess.
            return Fail(events, null, null, MalformedMessage);
        }

        if (!chunk.IsObject)
        {
            return Fail(events, null, null, MalformedMessage);
        }

        if (errorEvent || chunk.Error)
        {
            return Fail(events, chunk.ErrorType, chunk.ErrorCode, chunk.ErrorMessage);
        }

        if (chunk.FinishedWithError)
        {
            // OpenRouter ends a failed generation with finish_reason "error" (its error object is not always there).
            return Fail(events, null, null, "The provider ended the answer with an error.");
        }

        if (!_started)
        {
            _started = true;
            events.Add(ChatEvent.Started(chunk.Id, chunk.Model));
        }

        if (!string.IsNullOrEmpty(chunk.Text))
        {
            events.Add(ChatEvent.TextDelta(chunk.Text));
        }

        foreach (var fragment in fragments)
        {
            ToolFragment(in fragment, events);
        }

        if (chunk.Finish != FinishReason.None)
        {
            events.Add(ChatEvent.Finished(chunk.Finish));
        }

        // As in pass-through: a report of nothing (0/0, which some providers send mid-stream) is no usage yet.
        if (chunk.UsageFound && (chunk.Usage.PromptTokens > 0 || chunk.Usage.CompletionTokens > 0))
        {
            Usage = chunk.Usage;
            UsageKnown = true;
            events.Add(ChatEvent.UsageReported(chunk.Usage));
        }

        return chunk.UsageFound && chunk.NoChoices ? UpstreamEventKind.UsageOnly : UpstreamEventKind.Content;
    }

    private void ToolFragment(in Fragment fragment, List<ChatEvent> events)
    {
        var tools = _tools ??= [];
        var slot = FindSlot(tools, in fragment);
        if (slot < 0)
        {
            slot = tools.Count;
            tools.Add(new ToolSlot(fragment.Index, fragment.Id));
            events.Add(ChatEvent.ToolCallStarted(slot, fragment.Id ?? "", fragment.Name ?? ""));
        }

        if (!string.IsNullOrEmpty(fragment.Arguments))
        {
            events.Add(ChatEvent.ToolCallArguments(slot, fragment.Arguments));
        }
    }

    // The call a fragment belongs to, or -1 for a new one. Searched from the latest: an index reused with a new id is
    // a new call, and the newest call under that index is the one still streaming.
    private static int FindSlot(List<ToolSlot> tools, in Fragment fragment)
    {
        var hasId = !string.IsNullOrEmpty(fragment.Id);
        for (var i = tools.Count - 1; i >= 0; i--)
        {
            var tool = tools[i];
            if (fragment.Index >= 0 ? tool.OpenAiIndex == fragment.Index : hasId && tool.Id == fragment.Id)
            {
                return hasId && tool.Id is not null && tool.Id != fragment.Id ? -1 : i;
            }
        }

        // No index and no known id: the latest call, unless there is none or the id is new.
        return fragment.Index < 0 && !hasId ? tools.Count - 1 : -1;
    }

    private static UpstreamEventKind Fail(List<ChatEvent> events, string? type, string? code, string? message)
    {
        // OpenAI's rate limits say what ran out in the type ("tokens", "requests") and what happened in the code.
        var errorType = (type is null or "tokens" or "requests" ? code ?? type : type) ?? "server_error";
        var text = MayQuoteTheKey(type, code, message) || string.IsNullOrEmpty(message)
            ? "The provider failed while answering" + (type is null && code is null ? "." : $" ({errorType}).")
            : message;
        events.Add(ChatEvent.Failed(errorType, text));
        return UpstreamEventKind.Error;
    }

    /// <summary>
    /// Key, permission and quota errors quote the key or the account ("Incorrect API key provided: sk-…"), as may
    /// any message that talks of a key: the client gets Roxy's words instead.
    /// </summary>
    private static bool MayQuoteTheKey(string? type, string? code, string? message) =>
        IsAccountError(type) || IsAccountError(code) || (message is not null && message.Contains("key", StringComparison.OrdinalIgnoreCase));

    private static bool IsAccountError(string? typeOrCode) =>
        typeOrCode is "authentication_error" or "invalid_api_key" or "permission_error" or "insufficient_quota" or "billing_error"
            or "invalid_organization";

    private readonly record struct ToolSlot(int OpenAiIndex, string? Id);

    private readonly record struct Fragment(int Index, string? Id, string? Name, string? Arguments);

    /// <summary>The fields of one chunk that matter, read in one pass whatever their order.</summary>
    private ref struct Chunk
    {
        public bool IsObject;
        public string? Id;
        public string? Model;
        public string? Text;
        public FinishReason Finish;
        public bool FinishedWithError;
        public bool NoChoices;
        public bool UsageFound;
        public TokenUsage Usage;
        public bool Error;
        public string? ErrorType;
        public string? ErrorCode;
        public string? ErrorMessage;

        /// <param name="readHead">Read the id and model (only the first chunk's are used: later ones are not allocated).</param>
        public static Chunk Parse(ReadOnlySpan<byte> json, bool readHead, List<Fragment> fragments)
        {
            var chunk = default(Chunk);
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return chunk;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (readHead && reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    chunk.Id = OpenAiAnswerDecoder.String(ref reader);
                }
                else if (readHead && reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    chunk.Model = OpenAiAnswerDecoder.String(ref reader);
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    chunk.ReadChoices(ref reader, fragments);
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    chunk.UsageFound = OpenAiAnswerDecoder.ReadUsage(ref reader, out chunk.Usage);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    chunk.ReadError(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // Trailing bytes after the object are as malformed as a broken object.
            chunk.IsObject = reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0 && !reader.Read();
            return chunk;
        }

        private void ReadChoices(ref Utf8JsonReader reader, List<Fragment> fragments)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                return;
            }

            NoChoices = true;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                NoChoices = false;
                ReadChoice(ref reader, fragments);
            }
        }

        // A choice other than the first (n > 1) is read past: its fragments are dropped with it.
        private void ReadChoice(ref Utf8JsonReader reader, List<Fragment> fragments)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            var firstFragment = fragments.Count;
            string? text = null, refusal = null;
            var finish = FinishReason.None;
            var finishedWithError = false;
            var index = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("index"u8))
                {
                    reader.Read();
                    index = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var i) ? i : -1;
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    ReadDelta(ref reader, fragments, ref text, ref refusal);
                }
                else if (reader.ValueTextEquals("finish_reason"u8))
                {
                    reader.Read();
                    finishedWithError = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("error"u8);
                    finish = OpenAiAnswerDecoder.Finish(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (index != 0)
            {
                fragments.RemoveRange(firstFragment, fragments.Count - firstFragment);
                return;
            }

            Text = string.IsNullOrEmpty(text) ? refusal : text;
            Finish = finishedWithError ? FinishReason.None : finish;
            FinishedWithError = finishedWithError;
        }

        private static void ReadDelta(ref Utf8JsonReader reader, List<Fragment> fragments, ref string? text, ref string? refusal)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("content"u8))
                {
                    reader.Read();
                    text = OpenAiAnswerDecoder.String(ref reader);
                }
                else if (reader.ValueTextEquals("refusal"u8))
                {
                    reader.Read();
                    refusal = OpenAiAnswerDecoder.String(ref reader);
                }
                else if (reader.ValueTextEquals("tool_calls"u8))
                {
                    reader.Read();
                    ReadToolCalls(ref reader, fragments);
                }
                else
                {
                    // role, reasoning_content, reasoning, reasoning_details, the legacy function_call.
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        private static void ReadToolCalls(ref Utf8JsonReader reader, List<Fragment> fragments)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                var index = -1;
                string? id = null, name = null, arguments = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("index"u8))
                    {
                        reader.Read();
                        index = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var i) && i >= 0 ? i : -1;
                    }
                    else if (reader.ValueTextEquals("id"u8))
                    {
                        reader.Read();
                        id = OpenAiAnswerDecoder.String(ref reader);
                    }
                    else if (reader.ValueTextEquals("function"u8))
                    {
                        reader.Read();
                        OpenAiAnswerDecoder.ReadFunction(ref reader, default, objectArguments: false, ref name, ref arguments);
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }

                fragments.Add(new Fragment(index, id, name, arguments));
            }
        }

        private void ReadError(ref Utf8JsonReader reader)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                // "error": null is no error.
                return;
            }

            Error = true;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                ErrorMessage = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    ErrorType = OpenAiAnswerDecoder.String(ref reader);
                }
                else if (reader.ValueTextEquals("code"u8))
                {
                    reader.Read();
                    ErrorCode = reader.TokenType switch
                    {
                        JsonTokenType.String => reader.GetString(),
                        // OpenRouter's codes are HTTP statuses.
                        JsonTokenType.Number when reader.TryGetInt32(out var status) => StatusType(status),
                        _ => null,
                    };
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("message"u8))
                {
                    reader.Read();
                    ErrorMessage = OpenAiAnswerDecoder.String(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        private static string StatusType(int status) => status switch
        {
            400 or 413 or 422 => "invalid_request_error",
            401 => "authentication_error",
            402 => "insufficient_quota",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            503 or 529 => "service_unavailable",
            _ => "server_error",
        };
    }
}
