using System.Globalization;
using Roxy.Api.Json;

namespace Roxy.Api.Errors;

/// <summary>Writes every error Roxy produces in OpenAI's shape, so every OpenAI SDK can read it.</summary>
public static class ErrorWriter
{
    public static Task WriteAsync(HttpContext context, ProxyError error)
    {
        var response = context.Response;
        response.StatusCode = error.Status;
        if (error.RetryAfter is { } retryAfter)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        var body = new OpenAiErrorResponse(new OpenAiError(error.Message, error.Type, error.Param, error.Code));
        return response.WriteAsJsonAsync(body, RoxyJsonContext.Relaxed.OpenAiErrorResponse, contentType: null, context.RequestAborted);
    }

    public static OpenAiErrorResult ToResult(ProxyError error) => new(error);
}

/// <summary>A typed result for minimal API handlers that answers with an OpenAI-shaped error.</summary>
public sealed class OpenAiErrorResult(ProxyError error) : IResult
{
    public ProxyError Error { get; } = error;

    public Task ExecuteAsync(HttpContext httpContext) => ErrorWriter.WriteAsync(httpContext, Error);
}
