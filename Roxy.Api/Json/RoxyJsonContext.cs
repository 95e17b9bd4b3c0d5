using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Roxy.Api.Apis;
using Roxy.Api.Errors;

namespace Roxy.Api.Json;

/// <summary>Source-generated serialization for everything Roxy writes itself: no reflection on the hot path.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(OpenAiErrorResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(ChatCompletionRequestDoc))]
[JsonSerializable(typeof(EmbeddingsRequestDoc))]
[JsonSerializable(typeof(MessagesRequestDoc))]
[JsonSerializable(typeof(AnthropicErrorResponse))]
[JsonSerializable(typeof(CountTokensResult))]
[JsonSerializable(typeof(Usage.UsageReport))]
public sealed partial class RoxyJsonContext : JsonSerializerContext
{
    /// <summary>
    /// Plain characters for quotes, backticks and angle brackets: these bodies are read by people in chat UIs and
    /// terminals, and are JSON API responses, never embedded in HTML.
    /// </summary>
    public static RoxyJsonContext Relaxed => field ??= new(new JsonSerializerOptions(Default!.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
