using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Roxy.Api.Protocols;

namespace Roxy.Api.Caching;

/// <summary>
/// The canonical form of a request (RFC 8785-style), written straight into a SHA-256 as a token stream instead of JSON
/// text: object keys sorted by UTF-16 code units, strings compared decoded, numbers compared by value (exact, never
/// through a double), arrays in order. Every token starts with a tag and every variable part is length-prefixed, so two
/// different requests never write the same bytes. One instance per thread, reused: it holds a native hash context and
/// buffers tokens, because each <see cref="IncrementalHash.AppendData(ReadOnlySpan{byte})"/> is a call into OpenSSL.
/// </summary>
public sealed class CanonicalRequest
{
    /// <summary>Top-level fields that do not change the answer (how it is delivered, who asked, whether the provider keeps it).</summary>
    public static readonly string[] IgnoredFields = ["stream", "stream_options", "user", "metadata", "store"];

    private const byte FieldTag = (byte)'h', ObjectTag = (byte)'{', ArrayTag = (byte)'[', StringTag = (byte)'s',
        UndecodableStringTag = (byte)'r', NumberTag = (byte)'n', HugeExponentNumberTag = (byte)'N', TrueTag = (byte)'t',
        FalseTag = (byte)'f', NullTag = (byte)'z', IntegerTag = (byte)'i';

    private const int BufferSize = 16 * 1024;

    // Entries sort in place; the property name is used as the document holds it unless it has escapes.
    private struct Entry
    {
        public JsonProperty Property;
        public byte[]? DecodedName;
        public int Index;

        public readonly ReadOnlySpan<byte> Name => DecodedName ?? JsonMarshal.GetRawUtf8PropertyName(Property);
    }

    [ThreadStatic] private static CanonicalRequest? _current;

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[BufferSize];
    private int _used;

    // One stack of entries for every object being walked: an object's entries sit above its parent's.
    private Entry[] _entries = new Entry[64];
    private int _entriesTop;
    private int _entriesHighWater;

    private CanonicalRequest()
    {
    }

    /// <summary>The calling thread's instance, empty. Call <see cref="Finish"/> or <see cref="Discard"/> before leaving the thread.</summary>
    public static CanonicalRequest Begin() => _current ??= new CanonicalRequest();

    /// <summary>A header field of the key: length-prefixed UTF-8.</summary>
    public void WriteField(string value) => WriteUtf16(FieldTag, value);

    public void WriteField(long value)
    {
        Reserve(9);
        _buffer[_used] = IntegerTag;
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_used + 1), value);
        _used += 9;
    }

    /// <summary>Writes the canonical request, without <see cref="IgnoredFields"/> at the top level, and reads its traits.</summary>
    /// <returns>Whether <c>cache.mode: deterministic</c> caches it, and why it may never be cached (null when it may).</returns>
    public (bool Deterministic, string? Uncacheable) WriteRequest(JsonElement request, WireProtocol protocol)
    {
        if (request.ValueKind != JsonValueKind.Object)
        {
            WriteValue(request);
            return (false, null);
        }

        var traits = new Traits();
        var start = _entriesTop;
        var count = Collect(request, topLevel: true);
        for (var i = 0; i < count; i++)
        {
            ReadTrait(ref traits, _entries[start + i], protocol);
        }

        WriteCollected(start, count);
        return (traits.Deterministic, traits.Uncacheable);
    }

    /// <summary>The SHA-256 of everything written, as 64 lowercase hex digits; the instance is empty again.</summary>
    public string Finish()
    {
        Flush();
        Span<byte> digest = stackalloc byte[32];
        _hash.GetHashAndReset(digest);
        ReleaseEntries();
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>Drops a half-written stream (after an exception): the thread gets a fresh instance next time.</summary>
    public void Discard()
    {
        if (ReferenceEquals(_current, this))
        {
            _current = null;
        }

        _hash.Dispose();
    }

    private struct Traits
    {
        public bool Deterministic;
        public string? Uncacheable;

        public void Refuse(string reason) => Uncacheable ??= reason;
    }

    private static void ReadTrait(ref Traits traits, in Entry entry, WireProtocol protocol)
    {
        var name = entry.Name;
        var value = entry.Property.Value;
        if (name.SequenceEqual("temperature"u8))
        {
            traits.Deterministic |= value.ValueKind == JsonValueKind.Number && IsZero(value);
        }
        else if (name.SequenceEqual("seed"u8))
        {
            traits.Deterministic |= value.ValueKind != JsonValueKind.Null;
        }
        else if (protocol == WireProtocol.OpenAiChat)
        {
            ReadOpenAiTrait(ref traits, name, value);
        }
        else
        {
            ReadAnthropicTrait(ref traits, name, value);
        }
    }

    private static void ReadOpenAiTrait(ref Traits traits, ReadOnlySpan<byte> name, JsonElement value)
    {
        if (name.SequenceEqual("n"u8))
        {
            if (value.ValueKind == JsonValueKind.Number && IsGreaterThanOne(value))
            {
                traits.Refuse("n > 1");
            }
        }
        else if (name.SequenceEqual("logprobs"u8))
        {
            if (value.ValueKind == JsonValueKind.True)
            {
                traits.Refuse("logprobs");
            }
        }
        else if (name.SequenceEqual("top_logprobs"u8))
        {
            if (value.ValueKind != JsonValueKind.Null)
            {
                traits.Refuse("top_logprobs");
            }
        }
        else if (name.SequenceEqual("audio"u8))
        {
            if (value.ValueKind != JsonValueKind.Null)
            {
                traits.Refuse("audio output");
            }
        }
        else if (name.SequenceEqual("modalities"u8))
        {
            if (value.ValueKind == JsonValueKind.Array)
            {
                foreach (var modality in value.EnumerateArray())
                {
                    if (modality.ValueKind == JsonValueKind.String && modality.ValueEquals("audio"u8))
                    {
                        traits.Refuse("audio output");
                    }
                }
            }
        }
        else if (name.SequenceEqual("web_search_options"u8))
        {
            // The answer's url citations (annotations) are not part of the canonical entry.
            traits.Refuse("web_search_options");
        }
    }

    private static void ReadAnthropicTrait(ref Traits traits, ReadOnlySpan<byte> name, JsonElement value)
    {
        if (name.SequenceEqual("thinking"u8))
        {
            // A replay would drop the thinking blocks that a later turn must send back.
            var disabled = value.ValueKind == JsonValueKind.Null
                           || (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("type"u8, out var type)
                               && type.ValueKind == JsonValueKind.String && type.ValueEquals("disabled"u8));
            if (!disabled)
            {
                traits.Refuse("thinking");
            }
        }
        else if (name.SequenceEqual("mcp_servers"u8))
        {
            traits.Refuse("mcp_servers");
        }
        else if (name.SequenceEqual("tools"u8) && value.ValueKind == JsonValueKind.Array)
        {
            foreach (var tool in value.EnumerateArray())
            {
                if (tool.ValueKind == JsonValueKind.Object && tool.TryGetProperty("type"u8, out var type)
                    && type.ValueKind != JsonValueKind.Null && !IsClientTool(type))
                {
                    // Server tools (web_search_*, web_fetch_*, code_execution_*) answer with blocks the entry cannot hold.
                    traits.Refuse("server tool");
                }
            }
        }
    }

    // Anthropic's client-executed tools: custom ones and the versioned bash_/text_editor_/computer_ tools.
    private static bool IsClientTool(JsonElement type)
    {
        if (type.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var text = type.GetString()!;
        return text == "custom" || text.StartsWith("bash_", StringComparison.Ordinal)
               || text.StartsWith("text_editor_", StringComparison.Ordinal) || text.StartsWith("computer_", StringComparison.Ordinal);
    }

    private void WriteValue(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var start = _entriesTop;
                WriteCollected(start, Collect(value, topLevel: false));
                break;
            case JsonValueKind.Array:
                WriteTagAndLength(ArrayTag, value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    WriteValue(item);
                }

                break;
            case JsonValueKind.String:
                WriteString(value);
                break;
            case JsonValueKind.Number:
                WriteNumber(JsonMarshal.GetRawUtf8Value(value));
                break;
            case JsonValueKind.True:
                WriteTag(TrueTag);
                break;
            case JsonValueKind.False:
                WriteTag(FalseTag);
                break;
            default:
                WriteTag(NullTag);
                break;
        }
    }

    // Pushes the object's properties (less the ignore-list at the top level) and sorts them.
    private int Collect(JsonElement obj, bool topLevel)
    {
        var start = _entriesTop;
        var index = 0;
        foreach (var property in obj.EnumerateObject())
        {
            var raw = JsonMarshal.GetRawUtf8PropertyName(property);
            var decoded = raw.IndexOf((byte)'\\') < 0 ? null : DecodeName(property, raw);
            if (topLevel && IsIgnored(decoded ?? raw))
            {
                continue;
            }

            if (_entriesTop == _entries.Length)
            {
                Array.Resize(ref _entries, _entries.Length * 2);
            }

            _entries[_entriesTop++] = new Entry { Property = property, DecodedName = decoded, Index = index++ };
        }

        _entriesHighWater = Math.Max(_entriesHighWater, _entriesTop);
        var entries = _entries.AsSpan(start, index);
        if (entries.Length <= 12)
        {
            InsertionSort(entries);
        }
        else
        {
            entries.Sort(static (a, b) => Compare(a, b));
        }

        return index;
    }

    private static byte[] DecodeName(JsonProperty property, ReadOnlySpan<byte> raw)
    {
        try
        {
            return Encoding.UTF8.GetBytes(property.Name);
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate: its spelling, after a byte no UTF-8 text contains, stands in for it.
            return [0xFF, .. raw];
        }
    }

    private void WriteCollected(int start, int count)
    {
        WriteTagAndLength(ObjectTag, count);
        for (var i = 0; i < count; i++)
        {
            var entry = _entries[start + i];
            WriteBytes(StringTag, entry.Name);
            WriteValue(entry.Property.Value);
        }

        _entriesTop = start;
    }

    private static bool IsIgnored(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("stream"u8) || name.SequenceEqual("stream_options"u8) || name.SequenceEqual("user"u8)
        || name.SequenceEqual("metadata"u8) || name.SequenceEqual("store"u8);

    private static void InsertionSort(Span<Entry> entries)
    {
        for (var i = 1; i < entries.Length; i++)
        {
            var current = entries[i];
            var j = i - 1;
            while (j >= 0 && Compare(entries[j], current) > 0)
            {
                entries[j + 1] = entries[j];
                j--;
            }

            entries[j + 1] = current;
        }
    }

    // Duplicate names keep their order in the body, so the sort is total and the stream deterministic.
    private static int Compare(in Entry a, in Entry b)
    {
        var order = CompareUtf16Order(a.Name, b.Name);
        return order != 0 ? order : a.Index.CompareTo(b.Index);
    }

    /// <summary>
    /// Orders two UTF-8 strings as RFC 8785 orders their UTF-16 code units. Byte order is code point order, which is
    /// UTF-16 order except that U+E000..U+FFFF (lead byte EE or EF) sort after the surrogate pairs of U+10000 and up
    /// (lead byte F0..F4); that can only decide at the first differing byte when both are lead bytes.
    /// </summary>
    internal static int CompareUtf16Order(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var common = a.CommonPrefixLength(b);
        if (common == a.Length || common == b.Length)
        {
            return a.Length.CompareTo(b.Length);
        }

        var x = a[common];
        var y = b[common];
        if (x is 0xEE or 0xEF && y >= 0xF0)
        {
            return 1;
        }

        if (y is 0xEE or 0xEF && x >= 0xF0)
        {
            return -1;
        }

        return x.CompareTo(y);
    }

    private void WriteString(JsonElement value)
    {
        var raw = JsonMarshal.GetRawUtf8Value(value);
        var inner = raw[1..^1];
        if (inner.IndexOf((byte)'\\') < 0)
        {
            WriteBytes(StringTag, inner);
            return;
        }

        // Decoded straight to UTF-8 (never longer than its escaped spelling): code and tool output are full of \n and \".
        var reader = new Utf8JsonReader(raw);
        reader.Read();
        byte[]? rented = null;
        var direct = inner.Length + 5 <= BufferSize;
        if (direct)
        {
            Reserve(inner.Length + 5);
        }

        var target = direct ? _buffer.AsSpan(_used + 5) : (rented = ArrayPool<byte>.Shared.Rent(inner.Length));
        try
        {
            var length = reader.CopyString(target);
            if (direct)
            {
                _buffer[_used] = StringTag;
                BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_used + 1), length);
                _used += 5 + length;
            }
            else
            {
                WriteBytes(StringTag, target[..length]);
            }
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate has no UTF-8 form: its spelling stands in for it.
            WriteBytes(UndecodableStringTag, inner);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>A number's value: its significant digits (no leading or trailing zeros; none for zero) × 10^Exponent.</summary>
    private readonly record struct NumberParts(bool Negative, int Length, long Exponent, BigInteger? HugeExponent);

    // JSON's number grammar is already checked by the parser: -?int(.frac)?([eE][+-]?exp)?
    private static NumberParts ParseNumber(ReadOnlySpan<byte> raw, Span<byte> digits)
    {
        var i = 0;
        var negative = raw[0] == '-';
        if (negative)
        {
            i++;
        }

        var length = 0;
        var fractionDigits = 0;
        for (; i < raw.Length && char.IsAsciiDigit((char)raw[i]); i++)
        {
            if (length > 0 || raw[i] != '0')
            {
                digits[length++] = raw[i];
            }
        }

        if (i < raw.Length && raw[i] == '.')
        {
            for (i++; i < raw.Length && char.IsAsciiDigit((char)raw[i]); i++, fractionDigits++)
            {
                if (length > 0 || raw[i] != '0')
                {
                    digits[length++] = raw[i];
                }
            }
        }

        var trailingZeros = 0;
        while (length > 0 && digits[length - 1] == '0')
        {
            length--;
            trailingZeros++;
        }

        if (length == 0)
        {
            return new NumberParts(false, 0, 0, null); // -0 and 0e5 are 0
        }

        long exponent = 0;
        var exponentNegative = false;
        if (i < raw.Length)
        {
            i++; // e or E
            if (raw[i] is (byte)'+' or (byte)'-')
            {
                exponentNegative = raw[i] == '-';
                i++;
            }

            var spelled = raw[i..];
            var firstSignificant = spelled.IndexOfAnyExcept((byte)'0');
            spelled = firstSignificant < 0 ? default : spelled[firstSignificant..];
            if (spelled.Length > 17)
            {
                var huge = BigInteger.Parse(Encoding.ASCII.GetString(spelled));
                huge = (exponentNegative ? -huge : huge) - fractionDigits + trailingZeros;
                return BigInteger.Abs(huge) <= long.MaxValue
                    ? new NumberParts(negative, length, (long)huge, null)
                    : new NumberParts(negative, length, 0, huge);
            }

            foreach (var digit in spelled)
            {
                exponent = exponent * 10 + (digit - '0');
            }

            if (exponentNegative)
            {
                exponent = -exponent;
            }
        }

        return new NumberParts(negative, length, exponent - fractionDigits + trailingZeros, null);
    }

    private void WriteNumber(ReadOnlySpan<byte> raw)
    {
        byte[]? rented = null;
        Span<byte> digits = raw.Length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
        var parts = ParseNumber(raw, digits);
        if (parts.HugeExponent is { } huge)
        {
            WriteBytes(HugeExponentNumberTag, digits[..parts.Length]);
            WriteTag(parts.Negative ? (byte)'-' : (byte)'+');
            WriteUtf16(FieldTag, huge.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            WriteBytes(NumberTag, digits[..parts.Length]);
            WriteTag(parts.Negative ? (byte)'-' : (byte)'+');
            WriteField(parts.Exponent);
        }

        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool IsZero(JsonElement number)
    {
        var raw = JsonMarshal.GetRawUtf8Value(number);
        Span<byte> digits = raw.Length <= 256 ? stackalloc byte[256] : new byte[raw.Length];
        return ParseNumber(raw, digits).Length == 0;
    }

    private static bool IsGreaterThanOne(JsonElement number)
    {
        var raw = JsonMarshal.GetRawUtf8Value(number);
        Span<byte> digits = raw.Length <= 256 ? stackalloc byte[256] : new byte[raw.Length];
        var parts = ParseNumber(raw, digits);
        if (parts.Negative || parts.Length == 0)
        {
            return false;
        }

        if (parts.HugeExponent is { } huge)
        {
            return huge.Sign > 0;
        }

        // Without leading zeros the value lies in [10^(magnitude-1), 10^magnitude).
        var magnitude = parts.Length + parts.Exponent;
        return magnitude > 1 || (magnitude == 1 && !(parts.Length == 1 && digits[0] == '1'));
    }

    private void WriteTag(byte tag)
    {
        Reserve(1);
        _buffer[_used++] = tag;
    }

    private void WriteTagAndLength(byte tag, int length)
    {
        Reserve(5);
        _buffer[_used] = tag;
        BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_used + 1), length);
        _used += 5;
    }

    private void WriteBytes(byte tag, ReadOnlySpan<byte> bytes)
    {
        WriteTagAndLength(tag, bytes.Length);
        if (bytes.Length > BufferSize - _used)
        {
            Flush();
            if (bytes.Length >= BufferSize)
            {
                _hash.AppendData(bytes);
                return;
            }
        }

        bytes.CopyTo(_buffer.AsSpan(_used));
        _used += bytes.Length;
    }

    private void WriteUtf16(byte tag, string text)
    {
        var most = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (most + 5 <= BufferSize)
        {
            Reserve(most + 5);
            var length = Encoding.UTF8.GetBytes(text, _buffer.AsSpan(_used + 5));
            _buffer[_used] = tag;
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_used + 1), length);
            _used += 5 + length;
            return;
        }

        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetByteCount(text));
        var written = Encoding.UTF8.GetBytes(text, rented);
        WriteBytes(tag, rented.AsSpan(0, written));
        ArrayPool<byte>.Shared.Return(rented);
    }

    private void Reserve(int bytes)
    {
        if (BufferSize - _used < bytes)
        {
            Flush();
        }
    }

    private void Flush()
    {
        _hash.AppendData(_buffer, 0, _used);
        _used = 0;
    }

    // The entries hold elements of a document about to be disposed: drop them.
    private void ReleaseEntries()
    {
        Array.Clear(_entries, 0, _entriesHighWater);
        _entriesTop = 0;
        _entriesHighWater = 0;
    }
}
