using System.Text.Json;
using Roxy.Api.Errors;

namespace Roxy.Api.Providers.Anthropic;

/// <summary>
/// Anthropic's error shape, <c>{"type":"error","error":{"type","message"}}</c>, as a status body or as the data of
/// an <c>event: error</c>, restated in OpenAI's terms.
/// </summary>
internal static class AnthropicErrorBody
{
    /// <summary>Reads <c>error.type</c> and <c>error.message</c>; both null when the body is not Anthropic's shape.</summary>
    public static (string? Type, string? Message) Read(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }

                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                string? type = null, message = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isType = reader.ValueTextEquals("type"u8);
                    var isMessage = reader.ValueTextEquals("message"u8);
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String && (isType || isMessage))
                    {
                        if (isType)
                        {
                            type = reader.GetString();
                        }
                        else
                        {
                            message = reader.GetString();
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }

                return (type, message);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not JSON, or text that is not valid Unicode (a proxy's HTML page, a truncated body): the status alone says what happened.
        }

        return default;
    }

    /// <summary>
    /// A caller error (400, 404, 413, 422) as an OpenAI client expects it. Anthropic's message is the caller's own
    /// mistake described, so it is kept; the type and code are OpenAI's, so SDKs and retry logic recognise them.
    /// </summary>
    public static ProxyError Describe(int status, ReadOnlySpan<byte> body)
    {
        var (type, message) = Read(body);
        message ??= $"The provider rejected the request with status {status}.";
        var code = (type, status) switch
        {
            ("not_found_error", _) or (_, 404) when message.Contains("model", StringComparison.OrdinalIgnoreCase) => "model_not_found",
            ("not_found_error", _) or (_, 404) => "not_found",
            ("request_too_large", _) or (_, 413) => "request_too_large",
            _ when IsContextLength(message) => ProxyError.ContextLengthExceededCode,
            _ => "upstream_rejected_request",
        };
        return new ProxyError(status, "invalid_request_error", code, message, code == "model_not_found" ? "model" : null);
    }

    /// <summary>
    /// Anthropic says "prompt is too long: 201000 tokens > 200000 maximum" or "input length and `max_tokens` exceed
    /// context limit: …"; OpenAI's code for both is <c>context_length_exceeded</c>, which rules may fail over on.
    /// </summary>
    public static bool IsContextLength(string message) =>
        message.Contains("prompt is too long", StringComparison.OrdinalIgnoreCase)
        || message.Contains("exceed context limit", StringComparison.OrdinalIgnoreCase)
        || message.Contains("context window", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The OpenAI error type of an Anthropic one, for an error event after content. Anthropic's
    /// <c>overloaded_error</c> and <c>api_error</c> are OpenAI's <c>server_error</c>.
    /// </summary>
    public static string OpenAiType(string? anthropicType) => anthropicType switch
    {
        "invalid_request_error" or "request_too_large" => "invalid_request_error",
        "authentication_error" => "authentication_error",
        "permission_error" => "permission_error",
        "not_found_error" => "not_found_error",
        "rate_limit_error" => "rate_limit_error",
        _ => "server_error",
    };

    /// <summary>Key, permission and billing errors may quote the account or key: the client gets Roxy's words.</summary>
    public static bool MayQuoteTheKey(string? anthropicType) =>
        anthropicType is "authentication_error" or "permission_error" or "billing_error";
}
