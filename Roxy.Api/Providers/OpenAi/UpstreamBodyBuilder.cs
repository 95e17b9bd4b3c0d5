using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Roxy.Api.Proxy;

namespace Roxy.Api.Providers.OpenAi;

/// <summary>
/// Builds the body sent upstream from the client's bytes: the same bytes with <c>model</c> replaced and, for
/// streams, usage switched on, so every other field (tools, response_format, unknown ones) survives as sent.
/// </summary>
public static class UpstreamBodyBuilder
{
    private static readonly byte[] UsageMember = "\"stream_options\":{\"include_usage\":true}"u8.ToArray();
    private static readonly byte[] UsageMemberWithComma = "\"stream_options\":{\"include_usage\":true},"u8.ToArray();
    private static readonly byte[] IncludeUsage = "\"include_usage\":true"u8.ToArray();
    private static readonly byte[] IncludeUsageWithComma = "\"include_usage\":true,"u8.ToArray();
    private static readonly byte[] True = "true"u8.ToArray();

    public static PooledBuffer Build(ReadOnlySpan<byte> body, ChatRequestInfo info, string upstreamModel)
    {
        var buffer = new PooledBuffer(body.Length + upstreamModel.Length + 64);
        Span<Edit> edits = stackalloc Edit[2];
        var count = 0;
        edits[count++] = new Edit(info.ModelValue.Start.Value, info.ModelValue.End.Value, EditKind.Model);
        if (info.Stream && !info.ClientWantsUsage)
        {
            if (info.IncludeUsageValue is { } usageValue)
            {
                edits[count++] = new Edit(usageValue.Start.Value, usageValue.End.Value, EditKind.True);
            }
            else if (info.StreamOptionsObjectStart is { } objectStart)
            {
                edits[count++] = new Edit(objectStart, objectStart, info.StreamOptionsHasMembers ? EditKind.IncludeUsageWithComma : EditKind.IncludeUsage);
            }
            else if (info.StreamOptionsMember is { } member)
            {
                edits[count++] = new Edit(member.Start.Value, member.End.Value, EditKind.UsageMember);
            }
            else
            {
                edits[count++] = new Edit(info.ObjectStart, info.ObjectStart, EditKind.UsageMemberWithComma);
            }
        }

        edits = edits[..count];
        if (count == 2 && edits[1].Start < edits[0].Start)
        {
            (edits[0], edits[1]) = (edits[1], edits[0]);
        }

        var position = 0;
        foreach (var edit in edits)
        {
            buffer.Write(body[position..edit.Start]);
            switch (edit.Kind)
            {
                case EditKind.Model:
                    WriteJsonString(buffer, upstreamModel);
                    break;
                case EditKind.UsageMember:
                    buffer.Write(UsageMember);
                    break;
                case EditKind.UsageMemberWithComma:
                    buffer.Write(UsageMemberWithComma);
                    break;
                case EditKind.IncludeUsage:
                    buffer.Write(IncludeUsage);
                    break;
                case EditKind.IncludeUsageWithComma:
                    buffer.Write(IncludeUsageWithComma);
                    break;
                case EditKind.True:
                    buffer.Write(True);
                    break;
            }

            position = edit.End;
        }

        buffer.Write(body[position..]);
        return buffer;
    }

    /// <summary>The body with only the <paramref name="modelValue"/> token replaced.</summary>
    public static PooledBuffer ReplaceModel(ReadOnlySpan<byte> body, Range modelValue, string upstreamModel)
    {
        var buffer = new PooledBuffer(body.Length + upstreamModel.Length + 16);
        buffer.Write(body[..modelValue.Start]);
        WriteJsonString(buffer, upstreamModel);
        buffer.Write(body[modelValue.End..]);
        return buffer;
    }

    private static void WriteJsonString(PooledBuffer buffer, string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length) * 6 + 2;
        var span = buffer.GetSpan(max);
        span[0] = (byte)'"';
        // Transcode on the stack (model names are short), so the hot path allocates nothing here.
        var utf8Length = Encoding.UTF8.GetMaxByteCount(value.Length);
        var rented = utf8Length <= 512 ? null : new byte[utf8Length];
        Span<byte> utf8 = rented ?? stackalloc byte[512];
        utf8 = utf8[..Encoding.UTF8.GetBytes(value, utf8)];
        var status = JavaScriptEncoder.Default.EncodeUtf8(utf8, span[1..], out _, out var written);
        if (status != System.Buffers.OperationStatus.Done)
        {
            throw new JsonException("Model name could not be encoded.");
        }

        span[written + 1] = (byte)'"';
        buffer.Advance(written + 2);
    }

    private enum EditKind
    {
        Model,
        UsageMember,
        UsageMemberWithComma,
        IncludeUsage,
        IncludeUsageWithComma,
        True,
    }

    private readonly record struct Edit(int Start, int End, EditKind Kind);
}
