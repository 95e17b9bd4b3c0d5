using Roxy.Api.Configuration;
using Roxy.Api.Errors;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Providers.Anthropic;

/// <summary>
/// Anthropic's Messages API: an OpenAI chat request is translated into a Messages request, and the answer (JSON or
/// named SSE events) is decoded into Roxy's events for the client's protocol to encode. An Anthropic client's request
/// passes through with only <c>model</c> replaced, and its answer as received.
/// </summary>
public sealed class AnthropicProvider(ResolvedProvider settings, HttpMessageInvoker http) : IProviderClient
{
    /// <summary>The API version Roxy's translation is written against.</summary>
    public const string ApiVersion = "2023-06-01";

    private readonly Uri _messages = Append(settings.BaseUrl, "messages");
    private readonly Uri _models = Append(settings.BaseUrl, "models");

    public ResolvedProvider Settings { get; } = settings;

    public WireProtocol Protocol => WireProtocol.AnthropicMessages;

    public HttpMessageInvoker Http { get; } = http;

    public ProxyError? BuildChatBody(ReadOnlySpan<byte> clientBody, ChatRequestInfo info, string model, out PooledBuffer? body) =>
        AnthropicRequestTranslator.Translate(clientBody, info, model, out body, Settings.DefaultMaxTokens);

    public HttpRequestMessage CreateRequest(UpstreamOperation operation, ReadOnlyMemory<byte> body, string apiKey, bool stream, ClientProtocolHeaders clientHeaders = default)
    {
        if (operation == UpstreamOperation.Embeddings)
        {
            // Anthropic has no embeddings API; the embeddings route refuses anthropic targets before getting here.
            throw new NotSupportedException("Anthropic has no embeddings API.");
        }

        var request = new HttpRequestMessage(
            operation == UpstreamOperation.Models ? HttpMethod.Get : HttpMethod.Post,
            operation == UpstreamOperation.Models ? _models : _messages);
        request.Headers.TryAddWithoutValidation("x-api-key", apiKey);
        // An Anthropic client's body is written against its own version and betas; a translated one against Roxy's.
        request.Headers.TryAddWithoutValidation("anthropic-version", clientHeaders.Version ?? ApiVersion);
        if (clientHeaders.Beta is { } beta)
        {
            request.Headers.TryAddWithoutValidation("anthropic-beta", beta);
        }

        request.Headers.TryAddWithoutValidation("Accept", stream ? "text/event-stream" : "application/json");
        foreach (var (name, value) in Settings.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (operation != UpstreamOperation.Models)
        {
            request.Content = new ReadOnlyMemoryContent(body);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        }

        return request;
    }

    public UpstreamOutcome Classify(int status, ReadOnlySpan<byte> errorBody) => AnthropicClassifier.Classify(status, errorBody);

    public UpstreamOutcome ClassifyStreamError(ReadOnlySpan<byte> errorEvent) =>
        AnthropicClassifier.ClassifyStreamError(AnthropicSse.Data(errorEvent, out _));

    public ProxyError DescribeCallerError(int status, ReadOnlySpan<byte> errorBody) => AnthropicErrorBody.Describe(status, errorBody);

    public IStreamDecoder CreateStreamDecoder() => new AnthropicStreamDecoder();

    public DecodedAnswer DecodeAnswer(ReadOnlySpan<byte> body, WireProtocol clientProtocol, bool keepCompletion = false)
    {
        if (clientProtocol != WireProtocol.AnthropicMessages)
        {
            return AnthropicAnswerDecoder.Decode(body, translate: true);
        }

        // Passed through, an answer is judged as pass-through judges it whether or not the cache watches: the fuller
        // decode the cache needs is stricter (it refuses lone surrogates the client may take), so a body it cannot
        // read is relayed all the same and simply not stored.
        var relayed = AnthropicAnswerDecoder.Decode(body, translate: false);
        if (!keepCompletion || !relayed.WellFormed)
        {
            return relayed;
        }

        var decoded = AnthropicAnswerDecoder.Decode(body, translate: true);
        return decoded.WellFormed ? relayed with { Completion = decoded.Completion } : relayed;
    }

    private static Uri Append(Uri baseUrl, string path)
    {
        var text = baseUrl.ToString();
        return new Uri(text.EndsWith('/') ? text + path : text + "/" + path);
    }
}
