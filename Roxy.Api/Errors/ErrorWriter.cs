using System.Globalization;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Json;
using Roxy.Api.Protocols;

namespace Roxy.Api.Errors;

/// <summary>
/// Writes every error Roxy produces in the client's protocol: OpenAI's shape for the OpenAI routes (every OpenAI SDK
/// reads it), Anthropic's shape and statuses for <c>/v1/messages</c>.
/// </summary>
public static class ErrorWriter
{
    public static Task WriteAsync(HttpContext context, ProxyError error) => WriteAsync(context, error, WireProtocol.OpenAiChat);

    public static Task WriteAsync(HttpContext context, ProxyError error, WireProtocol protocol)
    {
        var response = context.Response;
        if (error.RetryAfter is { } retryAfter)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        if (protocol == WireProtocol.AnthropicMessages)
        {
            var (status, type) = AnthropicErrors.Map(error);
            response.StatusCode = status;
            response.ContentType = "application/json";
            var requestId = context.Response.Headers["x-request-id"].ToString();
            AnthropicErrors.Write(response.BodyWriter, type, error.Message, requestId.Length > 0 ? requestId : null);
            return response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
        }

        response.StatusCode = error.Status;
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
