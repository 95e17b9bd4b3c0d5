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

    public static ProxyError ClusterUnavailable { get; } = new(
        StatusCodes.Status503ServiceUnavailable,
        "service_unavailable",
        "cluster_unavailable",
        "Roxy's cluster did not answer in time; retry shortly.") { RetryAfter = TimeSpan.FromSeconds(1) };

    public static ProxyError Internal(string requestId) => new(
        StatusCodes.Status500InternalServerError,
        "server_error",
        "internal_error",
        $"Roxy failed to process this request (request id {requestId}).");

    /// <summary>The provider answered with something that is not what its protocol promises; another key or target may do better.</summary>
    public static ProxyError UpstreamMalformed(string provider, string what) => new(
        StatusCodes.Status502BadGateway,
        "upstream_error",
        "upstream_malformed",
        $"Provider '{provider}' {what}.");

    // The path is Roxy's own parsing of the URL, printable; echoing it tells a client which typo it made.
    public static ProxyError RouteNotFound(string method, string path) => new(
        StatusCodes.Status404NotFound,
        "invalid_request_error",
        "unknown_url",
        $"Unrecognized request URL ({method} {Printable(path)}). Roxy serves the OpenAI API under /v1 (for example POST /v1/chat/completions).");

    public static ProxyError MethodNotAllowed(string method, IEnumerable<string> allowed) => new(
        StatusCodes.Status405MethodNotAllowed,
        "invalid_request_error",
        "method_not_allowed",
        $"{Printable(method)} is not allowed here; use {string.Join(" or ", allowed)}.");

    private static string Printable(string text)
    {
        var shown = text.Length > 200 ? text[..200] + "…" : text;
        return string.Create(shown.Length, shown, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = s[i] is < ' ' or '\x7f' ? '?' : s[i];
            }
        });
    }

    public static ProxyError BodyTooLarge(long limit) => new(
        StatusCodes.Status413PayloadTooLarge,
        "invalid_request_error",
        "request_too_large",
        $"The request body is larger than the limit of {limit} bytes.");
}
