using System.Net.Http.Headers;
using Roxy.Api.Configuration;

namespace Roxy.Api.Providers.OpenAi;

/// <summary>OpenAI's protocol: OpenAI itself, OpenRouter, Chutes and any <c>kind: openai</c> provider.</summary>
public sealed class OpenAiCompatibleProvider(ResolvedProvider settings, HttpMessageInvoker http) : IProviderClient
{
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

    private static Uri Append(Uri baseUrl, string path)
    {
        var text = baseUrl.ToString();
        return new Uri(text.EndsWith('/') ? text + path : text + "/" + path);
    }
}
