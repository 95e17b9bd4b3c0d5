using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Roxy.Api.Errors;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// Roxy's errors in Anthropic's shape and statuses (<c>{"type":"error","error":{"type","message"},"request_id"}</c>),
/// so Anthropic SDKs raise the error class a direct call would (and retry what they would retry).
/// </summary>
public static class AnthropicErrors
{
    /// <summary>Anthropic's status for an overloaded API; its SDKs and Claude Code retry it with backoff.</summary>
    public const int OverloadedStatus = 529;

    /// <summary>The status and Anthropic error type for one of Roxy's errors.</summary>
    public static (int Status, string Type) Map(ProxyError error) => error.Status switch
    {
        StatusCodes.Status400BadRequest or StatusCodes.Status422UnprocessableEntity => (error.Status, "invalid_request_error"),
        StatusCodes.Status401Unauthorized => (error.Status, "authentication_error"),
        StatusCodes.Status402PaymentRequired => (error.Status, "billing_error"),
        StatusCodes.Status403Forbidden => (error.Status, "permission_error"),
        StatusCodes.Status404NotFound => (error.Status, "not_found_error"),
        StatusCodes.Status405MethodNotAllowed => (error.Status, "invalid_request_error"),
        StatusCodes.Status413PayloadTooLarge => (error.Status, "request_too_large"),
        StatusCodes.Status429TooManyRequests => (error.Status, "rate_limit_error"),
        StatusCodes.Status503ServiceUnavailable when error.Code == "upstream_overloaded" => (OverloadedStatus, "overloaded_error"),
        StatusCodes.Status503ServiceUnavailable => (error.Status, "overloaded_error"),
        StatusCodes.Status504GatewayTimeout => (error.Status, "timeout_error"),
        _ => (error.Status, "api_error"),
    };

    /// <summary>The Anthropic error type for an OpenAI one, as a stream's <c>event: error</c> carries it.</summary>
    public static string TypeForOpenAiType(string? openAiType) => openAiType switch
    {
        "invalid_request_error" => "invalid_request_error",
        "authentication_error" => "authentication_error",
        "permission_error" => "permission_error",
        "not_found_error" => "not_found_error",
        "rate_limit_error" or "rate_limit_exceeded" => "rate_limit_error",
        "overloaded_error" or "service_unavailable" => "overloaded_error",
        _ => "api_error",
    };

    // Read by people in terminals and chat UIs: quotes and angle brackets as they are, as in OpenAI-shaped errors.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(IBufferWriter<byte> output, string type, string message, string? requestId)
    {
        using var json = new Utf8JsonWriter(output, Options);
        json.WriteStartObject();
        json.WriteString("type"u8, "error"u8);
        json.WriteStartObject("error"u8);
        json.WriteString("type"u8, type);
        json.WriteString("message"u8, message);
        json.WriteEndObject();
        if (requestId is not null)
        {
            json.WriteString("request_id"u8, requestId);
        }

        json.WriteEndObject();
    }
}
