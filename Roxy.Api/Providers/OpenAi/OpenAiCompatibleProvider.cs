using Roxy.Api.Configuration;
using Roxy.Api.Errors;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Providers.OpenAi;

/// <summary>
/// OpenAI's protocol: OpenAI itself, OpenRouter, Chutes and any <c>kind: openai</c> provider. An OpenAI client's
/// request and this provider's answer are the same protocol, so bytes pass through with only <c>model</c> spliced.
/// It is also the one protocol with embeddings.
/// </summary>
public sealed class OpenAiCompatibleProvider(ResolvedProvider settings, HttpMessageInvoker http) : IProviderClient
{
    private readonly Uri _chat = Append(settings.BaseUrl, "chat/completions");
    private readonly Uri _embeddings = Append(settings.BaseUrl, "embeddings");
    private readonly Uri _models = Append(settings.BaseUrl, "models");

    public ResolvedProvider Settings { get; } = settings;

    public WireProtocol Protocol => WireProtocol.OpenAiChat;

    public HttpMessageInvoker Http { get; } = http;

    public ProxyError? BuildChatBody(ReadOnlySpan<byte> clientBody, ChatRequestInfo info, string model, out PooledBuffer? body)
    {
        body = UpstreamBodyBuilder.Build(clientBody, info, model);
        return null;
    }

    // The client's bytes with only the model replaced: embeddings need no usage switch, and nothing else is touched.
    public ProxyError? BuildEmbeddingsBody(ReadOnlySpan<byte> clientBody, EmbeddingsRequestInfo info, string model, out PooledBuffer? body)
    {
        body = UpstreamBodyBuilder.ReplaceModel(clientBody, info.ModelValue, model);
        return null;
    }

    public HttpRequestMessage CreateRequest(UpstreamOperation operation, ReadOnlyMemory<byte> body, string apiKey, bool stream, ClientProtocolHeaders clientHeaders = default)
    {
        var request = new HttpRequestMessage(
            operation == UpstreamOperation.Models ? HttpMethod.Get : HttpMethod.Post,
            operation switch
            {
                UpstreamOperation.ChatCompletions => _chat,
                UpstreamOperation.Embeddings => _embeddings,
                _ => _models,
            });
        // Header values as plain strings: typed header objects would be allocated, then formatted back to text.
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + apiKey);
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

    public UpstreamOutcome Classify(int status, ReadOnlySpan<byte> errorBody) => UpstreamClassifier.Classify(status, errorBody);

    public UpstreamOutcome ClassifyStreamError(ReadOnlySpan<byte> errorEvent)
    {
        var outcome = UpstreamClassifier.Classify(StreamErrorStatus(errorEvent), errorEvent);
        return outcome == UpstreamOutcome.Success ? UpstreamOutcome.Failed : outcome;
    }

    public ProxyError DescribeCallerError(int status, ReadOnlySpan<byte> errorBody) =>
        OpenAiErrorBody.Describe(status, errorBody);

    public IStreamDecoder CreateStreamDecoder() => new OpenAiStreamDecoder();

    public DecodedAnswer DecodeAnswer(ReadOnlySpan<byte> body, WireProtocol clientProtocol, bool keepCompletion = false)
    {
        if (clientProtocol != WireProtocol.OpenAiChat)
        {
            return OpenAiAnswerDecoder.Decode(body);
        }

        // The client's own protocol: checked and its usage read, then written as received. The check stays the
        // pass-through one even when the cache wants the completion: caching must not change what is relayed.
        var usageKnown = SseEvent.ReadUsage(body, out var usage, out _, out var wellFormed);
        var answer = new DecodedAnswer(wellFormed, usage, usageKnown);
        return keepCompletion && wellFormed ? answer with { Completion = OpenAiAnswerDecoder.Decode(body).Completion } : answer;
    }

    /// <summary>An OpenAI-compatible stream names no status for an error event: its type says what it is.</summary>
    internal static int StreamErrorStatus(ReadOnlySpan<byte> evt)
    {
        if (evt.IndexOf("overloaded"u8) >= 0)
        {
            return 529;
        }

        if (evt.IndexOf("rate_limit"u8) >= 0)
        {
            return 429;
        }

        return 502;
    }

    private static Uri Append(Uri baseUrl, string path)
    {
        var text = baseUrl.ToString();
        return new Uri(text.EndsWith('/') ? text + path : text + "/" + path);
    }
}
