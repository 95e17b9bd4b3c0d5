using System.Text;
using System.Text.Json;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;

namespace Roxy.Api.Providers.OpenAi;

/// <summary>
/// Reads a whole <c>chat.completion</c> into a <see cref="ChatCompletion"/> for a client of another protocol, in one
/// forward pass without a DOM: <c>choices[0].message</c>'s text (a string, or the text parts of a parts array; the
/// <c>refusal</c> when there is no content), its <c>tool_calls</c>, the finish reason and the usage with cached
/// tokens. Reasoning fields are not part of the answer and are skipped.
/// </summary>
public static class OpenAiAnswerDecoder
{
    private static readonly DecodedAnswer Malformed = new(false, default, false);

    /// <summary>
    /// Not a completion (<see cref="DecodedAnswer.WellFormed"/> false): not one JSON object, invalid Unicode, an
    /// <c>error</c> that is not null (some providers answer 200 with one), or no choice to read an answer from.
    /// </summary>
    public static DecodedAnswer Decode(ReadOnlySpan<byte> body)
    {
        try
        {
            return Read(body);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Broken JSON, or escapes that are not valid Unicode (a lone surrogate): never a throw, never a guess.
            return Malformed;
        }
    }

    private static DecodedAnswer Read(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return Malformed;
        }

        string? id = null, model = null;
        var answer = default(Choice);
        var haveChoice = false;
        var usage = default(TokenUsage);
        var usageKnown = false;
        var error = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                id = String(ref reader);
            }
            else if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                model = String(ref reader);
            }
            else if (reader.ValueTextEquals("choices"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var choice = ReadChoice(ref reader, body);
                    // n > 1 answers several choices; the one an Anthropic message can carry is the first.
                    if (!haveChoice && choice.IsObject && choice.Index is null or 0)
                    {
                        answer = choice;
                        haveChoice = true;
                    }
                }
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                usageKnown = ReadUsage(ref reader, out usage);
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                // Some servers send "error": null on a success, as their streams do.
                reader.Read();
                error |= reader.TokenType != JsonTokenType.Null;
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        var wellFormed = reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0 && !reader.Read();
        if (!wellFormed || error || !haveChoice)
        {
            return Malformed;
        }

        var completion = new ChatCompletion(
            id ?? "",
            model ?? "",
            answer.Text ?? answer.Refusal,
            answer.ToolCalls ?? [],
            answer.Finish,
            usage,
            usageKnown);
        return new DecodedAnswer(true, usage, usageKnown, completion);
    }

    private static Choice ReadChoice(ref Utf8JsonReader reader, ReadOnlySpan<byte> body)
    {
        var choice = default(Choice);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return choice;
        }

        choice.IsObject = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                choice.Index = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var index) ? index : -1;
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                choice.Finish = Finish(ref reader);
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                ReadMessage(ref reader, body, ref choice);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return choice;
    }

    private static void ReadMessage(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, ref Choice choice)
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
                choice.Text = reader.TokenType == JsonTokenType.StartArray ? TextParts(ref reader) : String(ref reader);
            }
            else if (reader.ValueTextEquals("refusal"u8))
            {
                reader.Read();
                choice.Refusal = String(ref reader);
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                reader.Read();
                choice.ToolCalls = ToolCalls(ref reader, body);
            }
            else
            {
                // role, reasoning_content, reasoning, annotations, audio, the legacy function_call: not an answer's text.
                reader.Read();
                reader.Skip();
            }
        }
    }

    // A few providers (Mistral's reasoning models among them) answer content as parts; the text parts are the answer.
    private static string? TextParts(ref Utf8JsonReader reader)
    {
        StringBuilder? text = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            var isText = false;
            string? partText = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    isText = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("text"u8);
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    partText = String(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (isText && partText is not null)
            {
                (text ??= new StringBuilder()).Append(partText);
            }
        }

        return text?.ToString();
    }

    private static List<ToolCall>? ToolCalls(ref Utf8JsonReader reader, ReadOnlySpan<byte> body)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        var calls = new List<ToolCall>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            string? id = null, name = null, arguments = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    id = String(ref reader);
                }
                else if (reader.ValueTextEquals("function"u8))
                {
                    reader.Read();
                    ReadFunction(ref reader, body, objectArguments: true, ref name, ref arguments);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            calls.Add(new ToolCall(id ?? "", name ?? "", string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments));
        }

        return calls;
    }

    /// <summary>
    /// A tool call's <c>function</c> object at the reader: its name and arguments. A whole answer's arguments may be the
    /// object itself (<paramref name="objectArguments"/>, its text taken from <paramref name="body"/>); a stream's
    /// argument fragments are strings only.
    /// </summary>
    internal static void ReadFunction(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, bool objectArguments, ref string? name, ref string? arguments)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = String(ref reader);
            }
            else if (reader.ValueTextEquals("arguments"u8))
            {
                reader.Read();
                arguments = objectArguments ? Arguments(ref reader, body) : String(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    // OpenAI's arguments are JSON text in a string; some compatible servers (Ollama's among them) send the object itself.
    private static string? Arguments(ref Utf8JsonReader reader, ReadOnlySpan<byte> body)
    {
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            return Encoding.UTF8.GetString(body[start..((int)reader.TokenStartIndex + 1)]);
        }

        return String(ref reader);
    }

    /// <summary>
    /// <c>finish_reason</c> at the reader (a string or null). The legacy <c>function_call</c> is a tool call; a reason
    /// this build does not know ends the answer as <c>stop</c>: an answer that ended must say it did. OpenRouter's
    /// <c>error</c> is <see cref="FinishReason.None"/>.
    /// </summary>
    internal static FinishReason Finish(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return FinishReason.None;
        }

        // OpenRouter's "error" ends a failed generation: no reason at all, so nothing downstream (the prompt cache
        // above all) takes it for an answer that ended well.
        return reader.ValueTextEquals("error"u8) ? FinishReason.None
            : reader.ValueTextEquals("length"u8) ? FinishReason.Length
            : reader.ValueTextEquals("tool_calls"u8) || reader.ValueTextEquals("function_call"u8) ? FinishReason.ToolCalls
            : reader.ValueTextEquals("content_filter"u8) ? FinishReason.ContentFilter
            : FinishReason.Stop;
    }

    /// <summary>
    /// A <c>usage</c> object at the reader: <c>prompt_tokens</c>, <c>completion_tokens</c> and the cached part of the
    /// prompt (<c>prompt_tokens_details.cached_tokens</c>; DeepSeek's <c>prompt_cache_hit_tokens</c>). A count that
    /// is not a non-negative Int32 is untrusted input and ignored. True when a prompt or completion count was read.
    /// </summary>
    internal static bool ReadUsage(ref Utf8JsonReader reader, out TokenUsage usage)
    {
        usage = default;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return false;
        }

        long prompt = 0, completion = 0, cached = 0;
        var found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens_details"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isCached = reader.ValueTextEquals("cached_tokens"u8);
                    reader.Read();
                    if (isCached && Count(ref reader) is { } count)
                    {
                        cached = count;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }

                continue;
            }

            // input_tokens/output_tokens: the names some OpenAI-compatible servers use.
            var field = reader.ValueTextEquals("prompt_tokens"u8) || reader.ValueTextEquals("input_tokens"u8) ? 1
                : reader.ValueTextEquals("completion_tokens"u8) || reader.ValueTextEquals("output_tokens"u8) ? 2
                : reader.ValueTextEquals("prompt_cache_hit_tokens"u8) ? 3
                : 0;
            reader.Read();
            if (field == 0 || Count(ref reader) is not { } value)
            {
                reader.Skip();
                continue;
            }

            switch (field)
            {
                case 1: prompt = value; found = true; break;
                case 2: completion = value; found = true; break;
                default: cached = value; break;
            }
        }

        // The cached part of a prompt cannot exceed the prompt.
        usage = new TokenUsage(prompt, completion, Math.Min(cached, prompt));
        return found;
    }

    private static int? Count(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var count) && count >= 0 ? count : null;

    /// <summary>The string at the reader; null (the value skipped) for anything else.</summary>
    internal static string? String(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return null;
        }

        return reader.GetString();
    }

    private struct Choice
    {
        public bool IsObject;
        public int? Index;
        public string? Text;
        public string? Refusal;
        public List<ToolCall>? ToolCalls;
        public FinishReason Finish;
    }
}
