using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Roxy.Api.Providers.Anthropic;

/// <summary>
/// Anthropic accepts tool ids matching <c>^[a-zA-Z0-9_-]+$</c> of at most 64 characters; OpenAI-compatible providers
/// (and clients replaying another provider's history) send ids with dots, pipes, colons or a hundred characters.
/// The same function maps an assistant's <c>tool_calls[].id</c> and a tool message's <c>tool_call_id</c>, so a
/// pair still matches after translation.
/// </summary>
/// <remarks>
/// A valid id is returned unchanged, which makes the mapping idempotent: ids Anthropic minted come back as they
/// went out. Anything else has each disallowed character replaced by <c>_</c>, is cut to 51 characters and gets
/// <c>_</c> plus 12 hex digits of the SHA-256 of the original id. The suffix keeps <c>a.b</c> and <c>a_b</c>
/// (and two long ids sharing a prefix) apart; it is a hash of the input only, so every frontend maps alike.
/// </remarks>
public static class ToolCallIds
{
    public const int MaxLength = 64;

    private const int HashHexChars = 12;
    private const int KeptChars = MaxLength - HashHexChars - 1;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    public static bool IsValid(ReadOnlySpan<char> id) => id.Length is > 0 and <= MaxLength && !id.ContainsAnyExcept(Allowed);

    public static string Sanitize(string id)
    {
        if (IsValid(id))
        {
            return id;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var utf8 = Encoding.UTF8.GetBytes(id);
        SHA256.HashData(utf8, hash);
        var kept = Math.Min(id.Length, KeptChars);
        return string.Create(kept + 1 + HashHexChars, (id, hash: Convert.ToHexStringLower(hash[..(HashHexChars / 2)])), static (span, state) =>
        {
            var kept = span.Length - 1 - HashHexChars;
            for (var i = 0; i < kept; i++)
            {
                var c = state.id[i];
                span[i] = Allowed.Contains(c) ? c : '_';
            }

            span[kept] = '_';
            state.hash.AsSpan().CopyTo(span[(kept + 1)..]);
        });
    }
}
