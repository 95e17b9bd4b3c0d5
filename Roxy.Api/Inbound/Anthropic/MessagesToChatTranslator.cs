using Roxy.Api.Errors;
using Roxy.Api.Proxy;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// An Anthropic Messages request as an OpenAI chat completions request: the form every upstream protocol other than
/// Anthropic's is handed (OpenAI's is the hub between protocols).
/// </summary>
public static class MessagesToChatTranslator
{
    /// <summary>
    /// The OpenAI body for <paramref name="body"/>, with <c>stream_options.include_usage</c> set when streaming (an
    /// Anthropic stream always ends with usage). An error (a 400 to the client) when it cannot be expressed.
    /// </summary>
    public static ProxyError? Translate(ReadOnlySpan<byte> body, MessagesRequestInfo info, out PooledBuffer? chatBody) =>
        throw new NotImplementedException("issue 9: Messages → chat translation");
}
