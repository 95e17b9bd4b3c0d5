using Roxy.Api.Errors;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Protocols;
using Roxy.Api.Providers;
using Roxy.Api.Providers.OpenAi;

namespace Roxy.Api.Proxy;

/// <summary>
/// The body one target is sent, in its provider's protocol. OpenAI chat is the hub: an OpenAI request goes to each
/// protocol's <see cref="IProviderClient.BuildChatBody"/>; an Anthropic Messages request passes through to an
/// Anthropic target with only <c>model</c> replaced, and reaches any other protocol as its OpenAI form.
/// </summary>
public static class UpstreamBodies
{
    /// <returns>An error (a 400 to the client, unless another target serves) when the request cannot be expressed.</returns>
    public static ProxyError? Build(ProxyRequest request, IProviderClient provider, string model, out PooledBuffer? body)
    {
        if (request.Embeddings is { } embeddings)
        {
            return provider.BuildEmbeddingsBody(request.Body.Span, embeddings, model, out body);
        }

        if (request.Messages is not { } messages)
        {
            return provider.BuildChatBody(request.Body.Span, request.Info!, model, out body);
        }

        if (provider.Protocol == WireProtocol.AnthropicMessages)
        {
            // Same protocol: unknown fields, thinking, cache_control and betas reach the provider untouched.
            body = UpstreamBodyBuilder.ReplaceModel(request.Body.Span, messages.ModelValue, model);
            return null;
        }

        // OpenAI's own API refuses max_tokens for its reasoning models and takes max_completion_tokens for every model;
        // other OpenAI-compatible servers know max_tokens, not always the newer name.
        var maxCompletionTokens = provider.Settings.BaseUrl.Host.Equals("api.openai.com", StringComparison.OrdinalIgnoreCase);
        if (request.ChatForm is not { } form || form.MaxCompletionTokens != maxCompletionTokens)
        {
            // A rule mixing OpenAI's API with other servers translates once per kind (the first form is let go: every
            // provider body is a copy).
            request.ChatForm?.Dispose();
            request.ChatForm = null;
            var untranslatable = MessagesToChatTranslator.Translate(request.Body.Span, messages, maxCompletionTokens, out var chatBody);
            if (untranslatable is not null)
            {
                body = null;
                return untranslatable;
            }

            // Read back as any OpenAI request is, so the OpenAI protocols see exactly what an OpenAI client would send.
            var invalid = ChatRequestReader.TryRead(chatBody!.Span, out var chatInfo);
            if (invalid is not null)
            {
                chatBody.Dispose();
                body = null;
                return invalid;
            }

            request.ChatForm = new TranslatedRequest(chatBody, chatInfo, maxCompletionTokens);
        }

        return provider.BuildChatBody(request.ChatForm.Body.Span, request.ChatForm.Info, model, out body);
    }
}
