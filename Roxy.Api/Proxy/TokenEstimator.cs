using System.Buffers;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Roxy.Api.Proxy;

/// <summary>
/// The token reservation made before a request goes upstream: prompt tokens plus the completion budget
/// (<c>max_tokens</c> / <c>max_completion_tokens</c>, or the configured default). The real usage corrects it afterwards.
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

    // Creating a tiktoken tokenizer decompresses and parses its vocabulary (tens of ms, some MB), so once per
    // process; the instances are immutable apart from an internal thread-safe cache.
    /// <summary>Characters of one string counted exactly; beyond that the count is extrapolated.</summary>
    internal const int ExactCountLimit = 4096;

    private const double ExtrapolationMargin = 1.1;

    private static readonly Lazy<Tokenizer> O200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly Lazy<Tokenizer> Cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    private static readonly string[] O200kPrefixes = ["gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-"];

    /// <param name="body">The raw chat completions request.</param>
    /// <param name="info">What <see cref="ChatRequestReader"/> read from it.</param>
    /// <param name="upstreamModel">The model the request is routed to; wins over the requested one when given.</param>
    public int Estimate(ReadOnlySpan<byte> body, ChatRequestInfo info, string? upstreamModel = null)
    {
        var model = string.IsNullOrEmpty(upstreamModel) ? info.Model : upstreamModel;
        return CountPrompt(body, TokenizerFor(model)) + (info.MaxTokens ?? defaultMaxTokens);
    }

    /// <summary>The encoding used for <paramref name="model"/>; a provider prefix (<c>openai/gpt-4o</c>) is ignored.</summary>
    /// <summary>Loads both vocabularies (about half a second) so the first request does not pay for it.</summary>
    public static void WarmUp()
    {
        O200k.Value.CountTokens("warm up");
        Cl100k.Value.CountTokens("warm up");
    }

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

    internal static int CountPrompt(ReadOnlySpan<byte> body, Tokenizer tokenizer)
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

    /// <summary>One walk over the body; owns the pooled buffer strings are decoded into.</summary>
    private struct Counter(Tokenizer tokenizer)
    {
        private char[]? buffer;

        public int CountBody(ReadOnlySpan<byte> body)
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 128 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException();
            }

            var total = 0;
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
                    total += (int)(reader.BytesConsumed - start) / 4;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return total + ReplyPriming;
        }

        private int CountMessages(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                return 0;
            }

            var total = 0;
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
        private int CountParts(ref Utf8JsonReader reader)
        {
            var total = 0;
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
        private int CountToolCalls(ref Utf8JsonReader reader)
        {
            var total = 0;
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
        private int CountString(ref Utf8JsonReader reader)
        {
            var needed = reader.ValueSpan.Length;
            if (needed == 0)
            {
                return 0;
            }

            if (buffer is null || buffer.Length < needed)
            {
                if (buffer is not null)
                {
                    ArrayPool<char>.Shared.Return(buffer);
                }

                buffer = ArrayPool<char>.Shared.Rent(Math.Max(needed, 1024));
            }

            var length = reader.CopyString(buffer);
            if (length <= ExactCountLimit)
            {
                return tokenizer.CountTokens(buffer.AsSpan(0, length));
            }

            // Long texts: count a prefix exactly and extrapolate with a margin, so a 100 KB prompt costs the hot
            // path about what a 4 KB one does. The real usage corrects the window afterwards anyway.
            var sampled = tokenizer.CountTokens(buffer.AsSpan(0, ExactCountLimit));
            return (int)Math.Ceiling(sampled * ((double)length / ExactCountLimit) * ExtrapolationMargin);
        }

        public void Dispose()
        {
            if (buffer is not null)
            {
                ArrayPool<char>.Shared.Return(buffer);
                buffer = null;
            }
        }
    }
}
