using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace Roxy.FakeUpstream;

/// <summary>Precomputed, JSON-escaped answer text: whole and per chunk.</summary>
internal sealed class ContentPlan(IReadOnlyList<string> chunks)
{
    private static readonly string[] StockWords = ["Hello", " from", " the", " fake", " upstream"];

    public byte[][] Chunks { get; } = chunks.Select(Escape).ToArray();
    public byte[] Full { get; } = Escape(string.Concat(chunks));
    public int Tokens { get; } = Math.Max(1, chunks.Count);

    public static ContentPlan FromText(string text) => new(SplitWords(text));

    public static ContentPlan Stock(int count)
    {
        var chunks = new string[Math.Max(0, count)];
        for (var i = 0; i < chunks.Length; i++)
        {
            chunks[i] = StockWords[i % StockWords.Length];
        }
        return new ContentPlan(chunks);
    }

    private static List<string> SplitWords(string text)
    {
        var result = new List<string>();
        var start = 0;
        for (var i = 1; i < text.Length; i++)
        {
            if (text[i] == ' ' && text[i - 1] != ' ')
            {
                result.Add(text[start..i]);
                start = i;
            }
        }
        if (start < text.Length)
        {
            result.Add(text[start..]);
        }
        return result;
    }

    // JSON string body without the surrounding quotes.
    internal static byte[] Escape(string s)
    {
        var enc = JsonEncodedText.Encode(s, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
        return enc.EncodedUtf8Bytes.ToArray();
    }
}

/// <summary>Low-level UTF-8 writers onto an <see cref="IBufferWriter{T}"/> (PipeWriter or ArrayBufferWriter).</summary>
internal static class W
{
    public static void Raw(IBufferWriter<byte> w, ReadOnlySpan<byte> bytes)
    {
        var span = w.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        w.Advance(bytes.Length);
    }

    public static void Num(IBufferWriter<byte> w, long value)
    {
        var span = w.GetSpan(24);
        Utf8Formatter.TryFormat(value, span, out var n);
        w.Advance(n);
    }

    public static void Hex(IBufferWriter<byte> w, long value)
    {
        var span = w.GetSpan(24);
        Utf8Formatter.TryFormat(value, span, out var n, new StandardFormat('x', 16));
        w.Advance(n);
    }

    /// <summary>Writes an escaped JSON string value with quotes, or null.</summary>
    public static void Str(IBufferWriter<byte> w, string? value)
    {
        if (value is null)
        {
            Raw(w, "null"u8);
            return;
        }
        Raw(w, "\""u8);
        Raw(w, ContentPlan.Escape(value));
        Raw(w, "\""u8);
    }

    public static void ErrorObject(IBufferWriter<byte> w, string? message, string? type, string? code, string? param = null)
    {
        Raw(w, "{\"error\":{\"message\":"u8);
        Str(w, message ?? "");
        Raw(w, ",\"type\":"u8);
        Str(w, type ?? "invalid_request_error");
        Raw(w, ",\"param\":"u8);
        Str(w, param);
        Raw(w, ",\"code\":"u8);
        Str(w, code);
        Raw(w, "}}"u8);
    }
}

/// <summary>Static response bytes precomputed at server start.</summary>
internal sealed class StaticBytes
{
    public StaticBytes(FakeUpstreamOptions options)
    {
        DefaultPlan = options.ContentText is { Length: > 0 } text ? ContentPlan.FromText(text) : ContentPlan.Stock(options.ContentChunks);

        var created = options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        var sb = new StringBuilder("{\"object\":\"list\",\"data\":[");
        for (var i = 0; i < options.Models.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }
            sb.Append("{\"id\":").Append(JsonSerializer.Serialize(options.Models[i]))
              .Append(",\"object\":\"model\",\"created\":").Append(created)
              .Append(",\"owned_by\":\"fake-org\"}");
        }
        sb.Append("]}");
        Models = Encoding.UTF8.GetBytes(sb.ToString());
    }

    public ContentPlan DefaultPlan { get; }
    public byte[] Models { get; }
}
