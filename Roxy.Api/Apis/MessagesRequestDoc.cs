using System.Text.Json;

namespace Roxy.Api.Apis;

/// <summary>
/// Anthropic's Messages request as documented in OpenAPI. Roxy never binds to this type: the body is read in one
/// pass and forwarded as sent to an Anthropic target (only <c>model</c> replaced), or translated for another.
/// </summary>
/// <param name="Model">A rule's source model or a target the tenant may use directly.</param>
/// <param name="Messages">Alternating user and assistant turns; content is a string or an array of blocks.</param>
/// <param name="MaxTokens">Required on <c>/v1/messages</c>, absent on <c>count_tokens</c>.</param>
/// <param name="System">A string or an array of text blocks.</param>
/// <param name="Tools">Tools with a name, a description and an <c>input_schema</c>.</param>
/// <param name="ToolChoice"><c>auto</c>, <c>any</c>, <c>none</c> or <c>{"type":"tool","name"}</c>; may carry <c>disable_parallel_tool_use</c>.</param>
public sealed record MessagesRequestDoc(
    string Model,
    JsonElement Messages,
    int? MaxTokens = null,
    JsonElement? System = null,
    bool? Stream = null,
    JsonElement? Tools = null,
    JsonElement? ToolChoice = null,
    IReadOnlyList<string>? StopSequences = null,
    double? Temperature = null,
    double? TopP = null,
    int? TopK = null,
    JsonElement? Metadata = null,
    JsonElement? Thinking = null);

/// <summary>Anthropic's error body: <c>{"type":"error","error":{"type","message"},"request_id"}</c>.</summary>
public sealed record AnthropicErrorResponse(string Type, AnthropicErrorDetail Error, string? RequestId);

public sealed record AnthropicErrorDetail(string Type, string Message);

/// <summary>The answer of <c>/v1/messages/count_tokens</c>.</summary>
public sealed record CountTokensResult(int InputTokens);
