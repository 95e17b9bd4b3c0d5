using System.Net.Http.Headers;
using Roxy.Api.Configuration;

namespace Roxy.Api.Providers.OpenAi;

/// <summary>OpenAI's protocol: OpenAI itself, OpenRouter, Chutes and any <c>kind: openai</c> provider.</summary>
public sealed class OpenAiCompatibleProvider(ResolvedProvider settings, HttpMessageInvoker http) : IProviderClient
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly MediaTypeWithQualityHeaderValue AcceptJson = new("application/json");
    private static readonly MediaTypeWithQualityHeaderValue AcceptSse = new("text/event-stream");

    private readonly Uri _chat = Append(settings.BaseUrl, "chat/completions");
    private readonly Uri _embeddings = Append(settings.BaseUrl, "embeddings");
    private readonly Uri _models = Append(settings.BaseUrl, "models");

    public ResolvedProvider Settings { get; } = settings;

    public HttpMessageInvoker Http { get; } = http;

    public HttpRequestMessage CreateRequest(UpstreamOperation operation, ReadOnlyMemory<byte> body, string apiKey, bool stream)
    {
        var request = new HttpRequestMessage(
            operation == UpstreamOperation.Models ? HttpMethod.Get : HttpMethod.Post,
            operation switch
            {
                UpstreamOperation.ChatCompletions => _chat,
                UpstreamOperation.Embeddings => _embeddings,
                _ => _models,
            });
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        request.Headers.Accept.Add(stream ? AcceptSse : AcceptJson);
        foreach (var (name, value) in Settings.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (operation != UpstreamOperation.Models)
        {
            request.Content = new ReadOnlyMemoryContent(body);
            request.Content.Headers.ContentType = Json;
        }

        return request;
    }

    private static Uri Append(Uri baseUrl, string path)
    {
        var text = baseUrl.ToString();
        return new Uri(text.EndsWith('/') ? text + path : text + "/" + path);
    }
}
