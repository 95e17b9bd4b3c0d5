using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Roxy.Grains.Caching;

/// <summary>
/// Writes a string as JSON with only what JSON requires escaped (quote, backslash, control characters): the row's
/// JSON never goes into HTML, and even <c>UnsafeRelaxedJsonEscaping</c> writes every emoji as a 12-byte surrogate
/// pair escape, which inflates answers full of them and code 2-3x in PostgreSQL and in the writer's queue.
/// </summary>
internal sealed class PromptCacheStringConverter : JsonConverter<string>
{
    private static readonly SearchValues<char> MustEscape = SearchValues.Create(
        "\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f");

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString();

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        var text = value.AsSpan();
        var length = Encoding.UTF8.GetByteCount(text) + 2;
        for (var rest = text; rest.IndexOfAny(MustEscape) is var at and >= 0; rest = rest[(at + 1)..])
        {
            length += rest[at] is '"' or '\\' or '\n' or '\r' or '\t' ? 1 : 5;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = 0;
            buffer[written++] = (byte)'"';
            while (text.IndexOfAny(MustEscape) is var at and >= 0)
            {
                // Escaped characters are ASCII, so a cut before one never splits a surrogate pair.
                written += Encoding.UTF8.GetBytes(text[..at], buffer.AsSpan(written));
                written += Escape(text[at], buffer.AsSpan(written));
                text = text[(at + 1)..];
            }

            written += Encoding.UTF8.GetBytes(text, buffer.AsSpan(written));
            buffer[written++] = (byte)'"';
            writer.WriteRawValue(buffer.AsSpan(0, written), skipInputValidation: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int Escape(char c, Span<byte> into)
    {
        into[0] = (byte)'\\';
        switch (c)
        {
            case '"' or '\\':
                into[1] = (byte)c;
                return 2;
            case '\n':
                into[1] = (byte)'n';
                return 2;
            case '\r':
                into[1] = (byte)'r';
                return 2;
            case '\t':
                into[1] = (byte)'t';
                return 2;
            default:
                "u00"u8.CopyTo(into[1..]);
                into[4] = (byte)"0123456789abcdef"[c >> 4];
                into[5] = (byte)"0123456789abcdef"[c & 0xF];
                return 6;
        }
    }
}
