using Roxy.Api.Configuration;
using Roxy.Api.Errors;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Providers;

/// <summary>
/// One upstream wire protocol: builds the provider's request from the client's, classifies the provider's errors
/// (the README's table under "Keys and rotation") and decodes its answers into Roxy's own events. An
/// OpenAI-compatible provider is configuration, not a class: every <c>kind: openai</c> provider shares
/// <see cref="OpenAi.OpenAiCompatibleProvider"/> with its own base URL and connection pool.
/// </summary>
public interface IProviderClient
{
    ResolvedProvider Settings { get; }

    WireProtocol Protocol { get; }

    /// <summary>Pooled, non-buffering transport: <c>SendAsync</c> returns at the response headers.</summary>
    HttpMessageInvoker Http { get; }

    /// <summary>
    /// The body to send for an OpenAI chat request, addressed to <paramref name="model"/>; an error (a 400 to the
    /// client) when the request cannot be expressed in this protocol.
    /// </summary>
    ProxyError? BuildChatBody(ReadOnlySpan<byte> clientBody, ChatRequestInfo info, string model, out PooledBuffer? body);

    /// <summary>
    /// The body to send for an OpenAI embeddings request, addressed to <paramref name="model"/>. Only a protocol that
    /// has embeddings implements it; any other refuses (a 400 to the client, unless another target serves).
    /// </summary>
    ProxyError? BuildEmbeddingsBody(ReadOnlySpan<byte> clientBody, EmbeddingsRequestInfo info, string model, out PooledBuffer? body)
    {
        body = null;
        return ProxyError.EmbeddingsNotSupported(Settings.Name);
    }

    /// <param name="clientHeaders">Set only when the client speaks this protocol: its version and beta headers.</param>
    HttpRequestMessage CreateRequest(UpstreamOperation operation, ReadOnlyMemory<byte> body, string apiKey, bool stream, ClientProtocolHeaders clientHeaders = default);

    /// <summary>What a non-success status means for the key, the provider and the request.</summary>
    UpstreamOutcome Classify(int status, ReadOnlySpan<byte> errorBody);

    /// <summary>What an error event in a stream means, as <see cref="Classify"/> does for a status.</summary>
    UpstreamOutcome ClassifyStreamError(ReadOnlySpan<byte> errorEvent);

    /// <summary>A caller error (400, 404, 413, 422) restated in Roxy's terms, for a client of another protocol.</summary>
    ProxyError DescribeCallerError(int status, ReadOnlySpan<byte> errorBody);

    /// <summary>A decoder for one streamed answer (it keeps the stream's state).</summary>
    IStreamDecoder CreateStreamDecoder();

    /// <summary>
    /// Checks a whole JSON answer and reads its usage. <see cref="DecodedAnswer.Completion"/> is set when this
    /// protocol is not the client's, so the answer must be re-encoded, or when <paramref name="keepCompletion"/> asks
    /// for it (the prompt cache stores it); a client of this protocol still gets the answer as received.
    /// </summary>
    DecodedAnswer DecodeAnswer(ReadOnlySpan<byte> body, WireProtocol clientProtocol, bool keepCompletion = false);
}
