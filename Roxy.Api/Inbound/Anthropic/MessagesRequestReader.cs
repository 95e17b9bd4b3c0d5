using Roxy.Api.Errors;
using Roxy.Api.Proxy;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// Validates and reads an Anthropic Messages body with <see cref="System.Text.Json.Utf8JsonReader"/>: one pass, no
/// DOM. Anything Roxy does not need is skipped and later forwarded byte for byte.
/// </summary>
public static class MessagesRequestReader
{
    /// <param name="countTokens">The body of <c>/v1/messages/count_tokens</c>, which has no <c>max_tokens</c>.</param>
    public static ProxyError? TryRead(ReadOnlySpan<byte> body, bool countTokens, out MessagesRequestInfo info) =>
        throw new NotImplementedException("issue 9: request reader");

    /// <summary>The last user turn's text, decoded; null when there is none or it is not valid UTF-8.</summary>
    public static string? LastUserText(ReadOnlySpan<byte> body, MessagesRequestInfo info) =>
        info.LastUserTextToken is { } range ? ChatRequestReader.TryDecodeString(body[range]) : null;
}
