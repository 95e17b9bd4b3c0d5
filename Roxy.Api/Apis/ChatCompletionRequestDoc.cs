using System.Text.Json;

namespace Roxy.Api.Apis;

/// <summary>
/// The chat completions request as documented in OpenAPI. Roxy itself never binds to this type: the body is
/// forwarded as sent, so any field the provider understands works.
/// </summary>
public sealed record ChatCompletionRequestDoc(string Model, JsonElement Messages, bool? Stream = null, JsonElement? StreamOptions = null, int? MaxTokens = null);
