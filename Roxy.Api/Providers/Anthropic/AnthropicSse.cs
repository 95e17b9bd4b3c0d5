namespace Roxy.Api.Providers.Anthropic;

/// <summary>The fields of one SSE event as Anthropic sends them: an <c>event:</c> name and one JSON <c>data:</c> line.</summary>
internal static class AnthropicSse
{
    /// <summary>
    /// The event's data (several <c>data:</c> lines joined with a newline, as the SSE standard says) and its name.
    /// Empty data for a comment or a keep-alive.
    /// </summary>
    public static ReadOnlySpan<byte> Data(ReadOnlySpan<byte> evt, out ReadOnlySpan<byte> name)
    {
        name = default;
        ReadOnlySpan<byte> data = default;
        byte[]? joined = null;
        var joinedLength = 0;
        var dataLines = 0;
        while (!evt.IsEmpty)
        {
            var newline = evt.IndexOf((byte)'\n');
            var line = newline < 0 ? evt : evt[..newline];
            evt = newline < 0 ? default : evt[(newline + 1)..];
            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.StartsWith("event:"u8))
            {
                name = Value(line[6..]);
            }
            else if (line.StartsWith("data:"u8))
            {
                var value = Value(line[5..]);
                if (++dataLines == 1)
                {
                    data = value;
                    continue;
                }

                // A second data line: rare enough (Anthropic sends one) to copy rather than to avoid copying.
                if (joined is null)
                {
                    joined = new byte[data.Length + value.Length + 1 + evt.Length];
                    data.CopyTo(joined);
                    joinedLength = data.Length;
                }

                if (joinedLength + 1 + value.Length > joined.Length)
                {
                    Array.Resize(ref joined, (joinedLength + 1 + value.Length) * 2);
                }

                joined[joinedLength++] = (byte)'\n';
                value.CopyTo(joined.AsSpan(joinedLength));
                joinedLength += value.Length;
            }
        }

        return joined is null ? data : joined.AsSpan(0, joinedLength);
    }

    // One optional space after the colon belongs to the syntax, not to the value.
    private static ReadOnlySpan<byte> Value(ReadOnlySpan<byte> rest) => rest.Length > 0 && rest[0] == (byte)' ' ? rest[1..] : rest;
}
