using Roxy.Api.Configuration;

namespace Roxy.Api.Providers;

/// <summary>
/// One wire protocol. An OpenAI-compatible provider is configuration, not a class: every <c>kind: openai</c>
/// provider shares <see cref="OpenAi.OpenAiCompatibleProvider"/> with its own base URL and connection pool.
/// </summary>
public interface IProviderClient
{
    ResolvedProvider Settings { get; }

    /// <summary>Pooled, non-buffering transport: <c>SendAsync</c> returns at the response headers.</summary>
    HttpMessageInvoker Http { get; }

    HttpRequestMessage CreateRequest(UpstreamOperation operation, ReadOnlyMemory<byte> body, string apiKey, bool stream);
}
