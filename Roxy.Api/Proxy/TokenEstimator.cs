using System.Buffers;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Roxy.Api.Proxy;

/// <summary>
/// The token reservation made before a request goes upstream: prompt tokens plus the completion budget
/// (<c>max_tokens</c> / <c>max_completion_tokens</c>, or the configured default) times <c>n</c>, the choices asked for.
/// The real usage corrects it afterwards.
/// </summary>
/// <remarks>
/// Prompt tokens follow OpenAI's published chat counting recipe: every string value of a message (role, content,
/// name, tool_call_id, ...) is run through the model's tiktoken encoding, plus <see cref="TokensPerMessage"/> per
/// message and <see cref="ReplyPriming"/> for the assistant reply. o200k_base is used for the OpenAI families that
/// use it; everything else gets cl100k_base, which is only an approximation for non-OpenAI models (their own
/// tokenizers typically differ by 10-20%), still far closer than bytes / 4.
/// </remarks>
public sealed class TokenEstimator(int defaultMaxTokens)
{
    /// <summary>Chat framing per message (<c>&lt;|start|&gt;{role}\n ... &lt;|end|&gt;</c>), per OpenAI's cookbook.</summary>
    internal const int TokensPerMessage = 3;

    /// <summary>Every reply is primed with <c>&lt;|start|&gt;assistant&lt;|message|&gt;</c>.</summary>
    internal const int ReplyPriming = 3;

    /// <summary>
    /// Flat cost of an image part: OpenAI's high-detail price of a 1024x1024 image (85 base + 4 tiles x 170). The
    /// real cost depends on the image size, which would mean fetching or decoding it; this is a typical upper value.
    /// </summary>
    internal const int ImageTokens = 765;

    /// <summary>Characters of one string counted exactly; beyond that the rest is sampled.</summary>
    internal const int ExactCountLimit = 4096;

    /// <summary>Up to this many characters after the exact head are still counted exactly.</summary>
    internal const int ExactRestLimit = 8192;

    // Text is handed to the tokenizer in pieces of at most this many characters, cut before a word where possible:
    // BPE is quadratic in the length of one pre-token, and a single 20,000-character run (spaces, "aaaa…") took
    // 240 ms. A cut inside a run costs at most one extra token, on the safe side.
    private const int PieceChars = 128;

    // Long texts are sampled: one window of PieceChars at a random offset in each stretch of SampleStride
    // characters, so every part of a prompt is looked at and a text cannot be shaped to put its cheap parts where
    // the samples fall. An eighth of the text is counted.
    private const int SampleStride = 1024;
    private const int MinSampleWindows = 64;
    private const double ExtrapolationMargin = 1.1;

    /// <summary>No completion budget above this is accepted (<see cref="ChatRequestReader"/> refuses it).</summary>
    public const int MaxCompletionTokens = 10_000_000;

    /// <summary>The largest estimate handed to rotation; far above any key's window, far below overflow.</summary>
    public const int MaxEstimate = int.MaxValue / 4;

    // Creating a tiktoken tokenizer decompresses and parses its vocabulary (tens of ms, some MB), so once per
    // process; the instances are immutable apart from an internal thread-safe cache.
    private static readonly Lazy<Tokenizer> O200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly Lazy<Tokenizer> Cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    private static readonly string[] O200kPrefixes = ["gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-"];

    /// <param name="body">The raw chat completions request.</param>
    /// <param name="info">What <see cref="ChatRequestReader"/> read from it.</param>
    /// <param name="upstreamModel">The model the request is routed to; wins over the requested one when given.</param>
    public int Estimate(ReadOnlySpan<byte> body, ChatRequestInfo info, string? upstreamModel = null) =>
        Estimate(body, info, upstreamModel, out _);

    /// <param name="promptTokens">The prompt part alone, for accounting an answer cut short.</param>
    /// <returns>At least 1 and at most <see cref="MaxEstimate"/>: never a value that could switch a limit off.</returns>
    public int Estimate(ReadOnlySpan<byte> body, ChatRequestInfo info, string? upstreamModel, out int promptTokens)
    {
        var model = string.IsNullOrEmpty(upstreamModel) ? info.Model : upstreamModel;
        var prompt = Math.Clamp(CountPrompt(body, TokenizerFor(model)), 0, MaxEstimate);
        // Each of the n choices may run to the completion budget, and is billed: the prompt is read once.
        long completion = Math.Clamp(info.MaxTokens ?? defaultMaxTokens, 0, MaxCompletionTokens) * Math.Max(1, info.Choices);
        promptTokens = (int)prompt;
        return (int)Math.Clamp(prompt + completion, 1, MaxEstimate);
    }

    /// <summary>
    /// The reservation for an Anthropic Messages request: its prompt (system, messages, tools) counted as
    /// <see cref="Estimate(ReadOnlySpan{byte}, ChatRequestInfo, string?, out int)"/> counts a chat prompt, plus
    /// <c>max_tokens</c> (or the configured default). <paramref name="promptTokens"/> is also what
    /// <c>/v1/messages/count_tokens</c> answers and what a translated stream's <c>message_start</c> reports.
    /// </summary>
    /// <returns>At least 1 and at most <see cref="MaxEstimate"/>.</returns>
    public int EstimateMessages(ReadOnlySpan<byte> body, Inbound.Anthropic.MessagesRequestInfo info, string? upstreamModel, out int promptTokens)
    {
        var counter = new Counter(TokenizerFor(string.IsNullOrEmpty(upstreamModel) ? info.Model : upstreamModel));
        long prompt;
        try
        {
            prompt = counter.CountMessagesBody(body);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // As for chat: about four bytes of JSON per token errs high.
            prompt = body.Length / 4;
        }
        finally
        {
            counter.Dispose();
        }

        // Never 0: count_tokens answers it, and a client reads 0 input tokens as a broken gateway.
        prompt = Math.Clamp(prompt, 1, MaxEstimate);
        long completion = Math.Clamp(info.MaxTokens ?? defaultMaxTokens, 0, MaxCompletionTokens);
        promptTokens = (int)prompt;
        return (int)Math.Clamp(prompt + completion, 1, MaxEstimate);
    }

    /// <summary>
    /// The reservation for an embeddings request: the tokens of <c>input</c> alone, strings counted with the target
    /// model's encoding (cl100k_base for OpenAI's embedding models) and sampled as chat texts are when long, token-id
    /// arrays by their length. Nothing is generated, so there is no completion part and no chat framing.
    /// </summary>
    /// <returns>At least 1 and at most <see cref="MaxEstimate"/>.</returns>
    public static int EstimateEmbeddings(ReadOnlySpan<byte> body, EmbeddingsRequestInfo info, string? upstreamModel)
    {
        var input = body[info.InputValue];
        var counter = new Counter(TokenizerFor(string.IsNullOrEmpty(upstreamModel) ? info.Model : upstreamModel));
        long tokens;
        try
        {
            tokens = counter.CountInput(input);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // Invalid UTF-8 in a string: about four bytes per token errs high, as for chat.
            tokens = input.Length / 4;
        }
        finally
        {
            counter.Dispose();
        }

        return (int)Math.Clamp(tokens, 1, MaxEstimate);
    }

    /// <summary>Loads both vocabularies (about half a second) so the first request does not pay for it.</summary>
    public static void WarmUp()
    {
        O200k.Value.CountTokens("warm up");
        Cl100k.Value.CountTokens("warm up");
    }

    /// <summary>The encoding used for <paramref name="model"/>; a provider prefix (<c>openai/gpt-4o</c>) is ignored.</summary>
    internal static Tokenizer TokenizerFor(string? model)
    {
        var name = model.AsSpan();
        var slash = name.LastIndexOf('/');
        if (slash >= 0)
        {
            name = name[(slash + 1)..];
        }

        foreach (var prefix in O200kPrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return O200k.Value;
            }
        }

        return Cl100k.Value;
    }

    internal static long CountPrompt(ReadOnlySpan<byte> body, Tokenizer tokenizer)
    {
        var counter = new Counter(tokenizer);
        try
        {
            return counter.CountBody(body);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // Not walkable (bad JSON, invalid UTF-8 in a string, unexpected shapes): about four bytes of JSON per
            // token errs high, which is the safe side for a limiter.
            return body.Length / 4;
        }
        finally
        {
            counter.Dispose();
        }
    }

    /// <summary>
    /// A floor read off the characters, for sampled texts, from what both vocabularies spend at the least (measured on
    /// Chinese, Japanese, Korean, Russian, Arabic, emoji, English, code, base64): CJK and Hangul about 0.6 tokens a
    /// character or more, other scripts 0.37, emoji 0.4 per UTF-16 unit, visible ASCII 0.3; white space nearly
    /// nothing. It keeps a text that hides dense parts between the samples from being estimated far low.
    /// </summary>
    internal static long Floor(ReadOnlySpan<char> text)
    {
        // In twentieths of a token.
        long twentieths = 0;
        foreach (var c in text)
        {
            twentieths += c switch
            {
                <= ' ' => 0,
                < '\x80' => 4,
                >= '\u3040' and <= '\u30FF' or >= '\u3400' and <= '\u9FFF' or >= '\uAC00' and <= '\uD7AF' or >= '\uF900' and <= '\uFAFF' => 10,
                >= '\uD800' and <= '\uDFFF' => 8,
                _ => 5,
            };
        }

        return twentieths / 20;
    }

    /// <summary>One walk over the body; owns the pooled buffer strings are decoded into.</summary>
    private struct Counter(Tokenizer tokenizer)
    {
        private char[]? _buffer;

        public long CountBody(ReadOnlySpan<byte> body)
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException();
            }

            long total = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("messages"u8))
                {
                    reader.Read();
                    total += CountMessages(ref reader);
                }
                else if (reader.ValueTextEquals("tools"u8))
                {
                    // Tool schemas are injected into the prompt in an undocumented format; their JSON size / 4 is
                    // close enough and avoids tokenizing deeply nested schemas.
                    reader.Read();
                    var start = reader.TokenStartIndex;
                    reader.Skip();
                    total += (reader.BytesConsumed - start) / 4;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return total + ReplyPriming;
        }

        // An Anthropic Messages body, counted as its OpenAI form would be: the system prompt as one message, each
        // turn's framing and role, every text, tool call input and tool result, images at a flat price, tools by size.
        public long CountMessagesBody(ReadOnlySpan<byte> body)
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException();
            }

            long total = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("system"u8))
                {
                    reader.Read();
                    var system = reader.TokenType switch
                    {
                        JsonTokenType.String => CountString(ref reader),
                        JsonTokenType.StartArray => CountBlocks(ref reader, body),
                        _ => SkipUncounted(ref reader),
                    };
                    if (system > 0)
                    {
                        // The role word "system" is one token in both vocabularies.
                        total += TokensPerMessage + 1 + system;
                    }
                }
                else if (reader.ValueTextEquals("messages"u8))
                {
                    reader.Read();
                    total += CountTurns(ref reader, body);
                }
                else if (reader.ValueTextEquals("tools"u8))
                {
                    // As for chat: JSON size / 4, without tokenizing deeply nested schemas.
                    reader.Read();
                    var start = reader.TokenStartIndex;
                    reader.Skip();
                    total += (reader.BytesConsumed - start) / 4;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return total + ReplyPriming;
        }

        private long CountTurns(ref Utf8JsonReader reader, ReadOnlySpan<byte> body)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                return 0;
            }

            long total = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                total += TokensPerMessage;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    reader.Read();
                    total += reader.TokenType switch
                    {
                        // role, and string content.
                        JsonTokenType.String => CountString(ref reader),
                        JsonTokenType.StartArray => CountBlocks(ref reader, body),
                        _ => SkipUncounted(ref reader),
                    };
                }
            }

            return total;
        }

        // Content blocks: text, images, tool_use (name and input as JSON text), tool_result (id and content, nested
        // blocks counted the same way), text documents. Thinking is not counted: Anthropic drops earlier turns'
        // thinking from the context, and an OpenAI target never sees it.
        private long CountBlocks(ref Utf8JsonReader reader, ReadOnlySpan<byte> body)
        {
            long total = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                var thinking = false;
                var media = false;
                long counted = 0;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("type"u8))
                    {
                        reader.Read();
                        thinking = reader.TokenType == JsonTokenType.String
                                   && (reader.ValueTextEquals("thinking"u8) || reader.ValueTextEquals("redacted_thinking"u8));
                        media = reader.TokenType == JsonTokenType.String && (reader.ValueTextEquals("image"u8) || reader.ValueTextEquals("document"u8));
                        reader.Skip();
                    }
                    else if (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("name"u8) || reader.ValueTextEquals("tool_use_id"u8))
                    {
                        reader.Read();
                        counted += reader.TokenType == JsonTokenType.String ? CountString(ref reader) : SkipUncounted(ref reader);
                    }
                    else if (reader.ValueTextEquals("input"u8))
                    {
                        // A tool call's input reaches the model as its JSON text.
                        reader.Read();
                        var start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        counted += CountUtf8(body[start..(int)reader.BytesConsumed]);
                    }
                    else if (reader.ValueTextEquals("content"u8))
                    {
                        reader.Read();
                        counted += reader.TokenType switch
                        {
                            JsonTokenType.String => CountString(ref reader),
                            JsonTokenType.StartArray => CountBlocks(ref reader, body),
                            _ => SkipUncounted(ref reader),
                        };
                    }
                    else if (reader.ValueTextEquals("source"u8))
                    {
                        reader.Read();
                        counted += CountSource(ref reader);
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }

                if (!thinking)
                {
                    total += counted;
                    if (media && counted == 0)
                    {
                        total += ImageTokens;
                    }
                }
            }

            return total;
        }

        // An image or document source: a text document's data is text; base64 and url sources are priced by
        // CountBlocks as one image.
        private long CountSource(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return SkipUncounted(ref reader);
            }

            var isText = false;
            long data = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    isText = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("text"u8);
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("data"u8))
                {
                    reader.Read();
                    // Only a text source's data is text; base64 would cost a decode for nothing.
                    data = isText && reader.TokenType == JsonTokenType.String ? CountString(ref reader) : SkipUncounted(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return isText ? data : 0;
        }

        private static long SkipUncounted(ref Utf8JsonReader reader)
        {
            reader.Skip();
            return 0;
        }

        // An embeddings input as EmbeddingsRequestReader accepted it: a string, strings, token ids, or arrays of them.
        public long CountInput(ReadOnlySpan<byte> input)
        {
            var reader = new Utf8JsonReader(input, new JsonReaderOptions { MaxDepth = ChatRequestReader.MaxDepth });
            reader.Read();
            if (reader.TokenType == JsonTokenType.String)
            {
                return CountString(ref reader);
            }

            long total = 0;
            while (reader.Read())
            {
                total += reader.TokenType switch
                {
                    JsonTokenType.String => CountString(ref reader),
                    JsonTokenType.Number => 1,
                    _ => 0,
                };
            }

            return total;
        }

        private long CountMessages(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                return 0;
            }

            long total = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                total += TokensPerMessage;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isContent = reader.ValueTextEquals("content"u8);
                    var isToolCalls = !isContent && reader.ValueTextEquals("tool_calls"u8);
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        // role, content, name, tool_call_id, refusal: the cookbook counts every string value.
                        total += CountString(ref reader);
                    }
                    else if (isContent && reader.TokenType == JsonTokenType.StartArray)
                    {
                        total += CountParts(ref reader);
                    }
                    else if (isToolCalls && reader.TokenType == JsonTokenType.StartArray)
                    {
                        total += CountToolCalls(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }

            return total;
        }

        // Content parts: {"type":"text","text":...} or {"type":"image_url","image_url":{...}} (input_audio etc.
        // are not counted; they are rare in chat completions and billed separately).
        private long CountParts(ref Utf8JsonReader reader)
        {
            long total = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isText = reader.ValueTextEquals("text"u8);
                    var isImage = !isText && reader.ValueTextEquals("image_url"u8);
                    reader.Read();
                    if (isText && reader.TokenType == JsonTokenType.String)
                    {
                        total += CountString(ref reader);
                    }
                    else
                    {
                        if (isImage && reader.TokenType != JsonTokenType.Null)
                        {
                            total += ImageTokens;
                        }

                        reader.Skip();
                    }
                }
            }

            return total;
        }

        // tool_calls: [{"id":...,"type":"function","function":{"name":...,"arguments":"{...}"}}]
        private long CountToolCalls(ref Utf8JsonReader reader)
        {
            long total = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isFunction = reader.ValueTextEquals("function"u8);
                    reader.Read();
                    if (isFunction && reader.TokenType == JsonTokenType.StartObject)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            var counted = reader.ValueTextEquals("arguments"u8) || reader.ValueTextEquals("name"u8);
                            reader.Read();
                            if (counted && reader.TokenType == JsonTokenType.String)
                            {
                                total += CountString(ref reader);
                            }
                            else
                            {
                                reader.Skip();
                            }
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }

            return total;
        }

        // Unescapes and transcodes into the pooled buffer, so counting allocates no string. The raw token length
        // bounds the decoded UTF-16 length: escapes only shrink, and UTF-8 never has fewer bytes than UTF-16 chars.
        private long CountString(ref Utf8JsonReader reader)
        {
            var needed = reader.ValueSpan.Length;
            if (needed == 0)
            {
                return 0;
            }

            EnsureBuffer(needed);
            var length = reader.CopyString(_buffer);
            return CountText(_buffer.AsSpan(0, length));
        }

        [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_buffer))]
        private void EnsureBuffer(int needed)
        {
            if (_buffer is null || _buffer.Length < needed)
            {
                if (_buffer is not null)
                {
                    ArrayPool<char>.Shared.Return(_buffer);
                }

                _buffer = ArrayPool<char>.Shared.Rent(Math.Max(needed, 1024));
            }
        }

        // Raw UTF-8 (JSON text counted as it stands), transcoded into the pooled buffer. A UTF-8 byte never makes more
        // than one UTF-16 char.
        private long CountUtf8(ReadOnlySpan<byte> utf8)
        {
            if (utf8.IsEmpty)
            {
                return 0;
            }

            EnsureBuffer(utf8.Length);
            var length = System.Text.Encoding.UTF8.GetChars(utf8, _buffer);
            return CountText(_buffer.AsSpan(0, length));
        }

        private readonly long CountText(ReadOnlySpan<char> text)
        {
            if (text.Length <= ExactCountLimit + ExactRestLimit)
            {
                return CountPieces(text);
            }

            return CountPieces(text[..ExactCountLimit]) + CountSampled(text[ExactCountLimit..]);
        }

        // Sampled windows extrapolated with a margin, and never below a floor read off the characters themselves:
        // a 1 MB prompt costs the hot path a few milliseconds; the real usage corrects the window afterwards.
        private readonly long CountSampled(ReadOnlySpan<char> rest)
        {
            var windows = Math.Max(MinSampleWindows, rest.Length / SampleStride);
            var stride = rest.Length / windows;
            long sampledTokens = 0;
            long sampledChars = 0;
            for (var i = 0; i < windows; i++)
            {
                var start = (i * stride) + Random.Shared.Next(stride - PieceChars + 1);
                var window = WholeCharacters(rest, start, PieceChars);
                sampledTokens += tokenizer.CountTokens(window);
                sampledChars += window.Length;
            }

            var extrapolated = (long)Math.Ceiling(sampledTokens * ((double)rest.Length / sampledChars) * ExtrapolationMargin);
            return Math.Max(extrapolated, Floor(rest));
        }

        private readonly long CountPieces(ReadOnlySpan<char> text)
        {
            // A text counted before (an earlier turn of the conversation, the system prompt) is not tokenized again.
            if (text.Length < TokenCountMemo.MinChars)
            {
                return CountPiecesUncached(text);
            }

            if (TokenCountMemo.Shared.TryGet(tokenizer, text, out var hash, out var tokens))
            {
                return tokens;
            }

            tokens = CountPiecesUncached(text);
            TokenCountMemo.Shared.Remember(tokenizer, hash, text.Length, tokens);
            return tokens;
        }

        private readonly long CountPiecesUncached(ReadOnlySpan<char> text)
        {
            long total = 0;
            while (text.Length > PieceChars)
            {
                var cut = PieceCut(text);
                total += tokenizer.CountTokens(text[..cut]);
                text = text[cut..];
            }

            return total + tokenizer.CountTokens(text);
        }

        public void Dispose()
        {
            if (_buffer is not null)
            {
                ArrayPool<char>.Shared.Return(_buffer);
                _buffer = null;
            }
        }

        // Before a white space that follows a word, where the pre-tokenizer cuts anyway (so the count stays exact);
        // else at the piece limit, never inside a surrogate pair.
        private static int PieceCut(ReadOnlySpan<char> text)
        {
            for (var i = PieceChars; i > PieceChars / 2; i--)
            {
                if (char.IsWhiteSpace(text[i]) && !char.IsWhiteSpace(text[i - 1]))
                {
                    return i;
                }
            }

            return char.IsLowSurrogate(text[PieceChars]) ? PieceChars - 1 : PieceChars;
        }

        // A window that neither starts nor ends inside a surrogate pair.
        private static ReadOnlySpan<char> WholeCharacters(ReadOnlySpan<char> text, int start, int length)
        {
            if (start > 0 && char.IsLowSurrogate(text[start]))
            {
                start++;
                length--;
            }

            if (char.IsHighSurrogate(text[start + length - 1]))
            {
                length--;
            }

            return text.Slice(start, length);
        }
    }
}
