using Roxy.Api.Errors;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// On every <c>/admin</c> route: a grain call that failed because PostgreSQL or the cluster did not answer is a 503
/// with Retry-After in OpenAI's shape (<c>storage_unavailable</c>, <c>cluster_unavailable</c>), never a bare 500.
/// </summary>
public sealed partial class ClusterFailureFilter(ILogger<ClusterFailureFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception ex) when (!context.HttpContext.RequestAborted.IsCancellationRequested && ProxyError.ForClusterFailure(ex) is not null)
        {
            var error = ProxyError.ForClusterFailure(ex)!;
            // The type only: a message could quote what the caller sent (a key being added).
            Failed(logger, context.HttpContext.Request.Method, context.HttpContext.GetEndpoint()?.DisplayName ?? "admin route", error.Code, ex.GetType().Name);
            return ErrorWriter.ToResult(error);
        }
    }

    [LoggerMessage(EventId = 2100, Level = LogLevel.Warning, Message = "admin {Method} {Route} answered 503 {Code}: {ExceptionType}")]
    private static partial void Failed(ILogger logger, string method, string route, string code, string exceptionType);
}
