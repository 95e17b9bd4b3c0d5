using System.Text.Json;
using Roxy.Api.Protocols;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// <c>"usage": {…}</c> as Anthropic reports it: <c>input_tokens</c> counts only the prompt tokens that were not read
/// from the provider's cache, which are <c>cache_read_input_tokens</c> (Roxy's prompt tokens count both).
/// </summary>
public static class AnthropicUsageEncoder
{
    public static void Write(Utf8JsonWriter json, TokenUsage usage)
    {
        var cached = Math.Clamp(usage.CachedTokens, 0, Math.Max(0, usage.PromptTokens));
        json.WriteStartObject("usage"u8);
        json.WriteNumber("input_tokens"u8, Math.Max(0, usage.PromptTokens - cached));
        json.WriteNumber("output_tokens"u8, Math.Max(0, usage.CompletionTokens));
        json.WriteNumber("cache_read_input_tokens"u8, cached);
        json.WriteEndObject();
    }
}
