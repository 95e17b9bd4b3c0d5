using System.Text.Json;
using Roxy.Api.Protocols;

namespace Roxy.Api.Inbound.OpenAi;

internal static class OpenAiUsage
{
    /// <summary><c>"usage": {...}</c> as OpenAI reports it, cached prompt tokens under <c>prompt_tokens_details</c>.</summary>
    public static void Write(Utf8JsonWriter json, TokenUsage usage)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", usage.PromptTokens);
        json.WriteNumber("completion_tokens", usage.CompletionTokens);
        json.WriteNumber("total_tokens", usage.Total);
        json.WriteStartObject("prompt_tokens_details");
        json.WriteNumber("cached_tokens", usage.CachedTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
