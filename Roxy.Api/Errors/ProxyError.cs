namespace Roxy.Api.Errors;

/// <summary>An error Roxy answers with, before anything was committed to the client.</summary>
public sealed record ProxyError(int Status, string Type, string Code, string Message, string? Param = null)
{
    public TimeSpan? RetryAfter { get; init; }

    public static ProxyError InvalidRequest(string message, string? param, string code = "invalid_request_error") =>
        new(StatusCodes.Status400BadRequest, "invalid_request_error", code, message, param);

    public static ProxyError InvalidApiKey { get; } = new(
        StatusCodes.Status401Unauthorized,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect or missing API key. Send your Roxy token as 'Authorization: Bearer <token>' or 'x-api-key: <token>'.");

    public static ProxyError ModelNotFound(string model) => new(
        StatusCodes.Status404NotFound,
        "invalid_request_error",
        "model_not_found",
        $"The model '{model}' does not exist or you do not have access to it.",
        "model");

    public static ProxyError BodyTooLarge(long limit) => new(
        StatusCodes.Status413PayloadTooLarge,
        "invalid_request_error",
        "request_too_large",
        $"The request body is larger than the limit of {limit} bytes.");
}
