using System.Diagnostics;
using Roxy.Api.Proxy;

namespace Roxy.Api.Observability;

/// <summary>One structured line per request. No prompt text and no secrets: ids, models, numbers.</summary>
public static partial class RequestLog
{
    public static void Write(ILogger logger, ProxyRequest request, int status)
    {
        var now = Stopwatch.GetTimestamp();
        var latencyMs = Stopwatch.GetElapsedTime(request.StartedAt, now).TotalMilliseconds;
        var firstByteMs = request.FirstByteAt == 0 ? -1 : Stopwatch.GetElapsedTime(request.StartedAt, request.FirstByteAt).TotalMilliseconds;
        Completed(
            logger,
            request.RequestId,
            request.Identity.TenantId,
            request.Model,
            request.Answered?.Model,
            request.Answered?.Provider,
            request.KeyId,
            status,
            latencyMs,
            firstByteMs,
            request.PromptTokens,
            request.CompletionTokens,
            request.CacheResult,
            request.Attempts,
            request.Stream);
    }

    // seam: helper L decides the fields of a request refused before routing.
    public static void Rejected(ILogger logger, HttpContext http, string requestId, Tenancy.TenantIdentity? identity, Protocols.WireProtocol protocol, Errors.ProxyError error)
    {
        _ = http;
        _ = protocol;
        Refused(logger, requestId, identity?.TenantId, error.Status, error.Code);
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "request {RequestId} tenant={Tenant} status={Status} error={ErrorCode}")]
    private static partial void Refused(ILogger logger, string requestId, string? tenant, int status, string errorCode);

    [LoggerMessage(
        EventId = 1000,
        Level = LogLevel.Information,
        Message = "request {RequestId} tenant={Tenant} model={RequestedModel} answered_by={AnsweringModel} provider={Provider} key={KeyId} status={Status} latency_ms={LatencyMs:F1} ttfb_ms={FirstByteMs:F1} prompt_tokens={PromptTokens} completion_tokens={CompletionTokens} cache={Cache} attempts={Attempts} stream={Stream}")]
    private static partial void Completed(
        ILogger logger, string requestId, string tenant, string requestedModel, string? answeringModel, string? provider,
        string? keyId, int status, double latencyMs, double firstByteMs, long promptTokens, long completionTokens,
        string cache, int attempts, bool stream);
}
