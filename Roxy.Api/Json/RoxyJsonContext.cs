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
[JsonSerializable(typeof(Apis.Admin.TenantList))]
[JsonSerializable(typeof(Apis.Admin.TenantSummary))]
[JsonSerializable(typeof(Apis.Admin.TenantCreateRequest))]
[JsonSerializable(typeof(Apis.Admin.TenantBudget))]
[JsonSerializable(typeof(Apis.Admin.TokenList))]
[JsonSerializable(typeof(Apis.Admin.TokenIssueRequest))]
[JsonSerializable(typeof(Apis.Admin.TokenIssued))]
[JsonSerializable(typeof(Apis.Admin.KeyAddRequest))]
[JsonSerializable(typeof(Apis.Admin.KeyAdded))]
[JsonSerializable(typeof(Apis.Admin.KeyView))]
[JsonSerializable(typeof(Apis.Admin.KeyList))]
[JsonSerializable(typeof(Apis.Admin.RulePutRequest))]
[JsonSerializable(typeof(Apis.Admin.RuleView))]
[JsonSerializable(typeof(Apis.Admin.RuleList))]
[JsonSerializable(typeof(Apis.Admin.CacheStatsView))]
[JsonSerializable(typeof(Apis.Admin.CacheCleared))]
[JsonSerializable(typeof(Apis.Admin.AuditList))]
[JsonSerializable(typeof(Apis.Admin.RequestTraceView))]
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
