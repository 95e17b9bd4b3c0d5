using System.Diagnostics;
using Roxy.Api.Errors;
using Roxy.Api.Protocols;
using Roxy.Api.Providers;
using Roxy.Api.Proxy;
using Roxy.Api.Tenancy;

namespace Roxy.Api.Observability;

/// <summary>
/// One structured line per request (SPEC §9): ids, models, numbers. Never prompt text and never a secret: the key is
/// named by its id, the caller by its tenant and token id. The placeholders are named so that the JSON console output
/// carries each as a field; the generated methods skip all formatting when Information is off.
/// </summary>
public static partial class RequestLog
{
    public static void Write(ILogger logger, ProxyRequest request, int status)
    {
        if (!logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        var latencyMs = Milliseconds(request.StartedAt, Stopwatch.GetTimestamp());
        double? firstByteMs = request.FirstByteAt == 0 ? null : Milliseconds(request.StartedAt, request.FirstByteAt);
        Completed(
            logger,
            request.RequestId,
            Inbound(request.Sink.Protocol, request.Operation),
            request.Identity.TenantId,
            request.Identity.TokenId,
            request.Model,
            request.Answered?.Model,
            request.Answered?.Provider,
            request.KeyId,
            status,
            request.Error?.Code,
            latencyMs,
            firstByteMs,
            request.PromptTokens,
            request.CompletionTokens,
            request.CachedTokens,
            request.Cost,
            request.CacheResult,
            request.Attempts,
            Math.Round(request.Waited.TotalMilliseconds, 1),
            request.Stream);
    }

    /// <summary>A request refused before it was routed: no model or key yet, and no tenant when the token was unknown.</summary>
    public static void Rejected(ILogger logger, HttpContext http, string requestId, TenantIdentity? identity, WireProtocol protocol, ProxyError error)
    {
        if (!logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        // The embeddings route answers in OpenAI's shape, so only its path tells it from chat.
        var operation = protocol == WireProtocol.OpenAiChat && http.Request.Path.Value is { } path && path.EndsWith("/embeddings", StringComparison.Ordinal)
            ? UpstreamOperation.Embeddings
            : UpstreamOperation.ChatCompletions;
        Refused(logger, requestId, Inbound(protocol, operation), identity?.TenantId, identity?.TokenId, error.Status, error.Code);
    }

    /// <summary>The protocol the client spoke, as the log line names it.</summary>
    public static string Inbound(WireProtocol protocol, UpstreamOperation operation) => protocol switch
    {
        WireProtocol.AnthropicMessages => "anthropic-messages",
        _ when operation == UpstreamOperation.Embeddings => "openai-embeddings",
        _ => "openai-chat",
    };

    private static double Milliseconds(long from, long to) => Math.Round(Stopwatch.GetElapsedTime(from, to).TotalMilliseconds, 1);

    [LoggerMessage(
        EventId = 1001,
        Level = LogLevel.Information,
        Message = "request {RequestId} {Protocol} tenant={Tenant} token={TokenId} status={Status} error={ErrorCode}")]
    private static partial void Refused(
        ILogger logger, string requestId, string protocol, string? tenant, string? tokenId, int status, string errorCode);

    [LoggerMessage(
        EventId = 1000,
        Level = LogLevel.Information,
        Message = "request {RequestId} {Protocol} tenant={Tenant} token={TokenId} model={RequestedModel} answered_by={AnsweringModel} "
            + "provider={Provider} key={KeyId} status={Status} error={ErrorCode} latency_ms={LatencyMs} ttfb_ms={FirstByteMs} "
            + "prompt_tokens={PromptTokens} completion_tokens={CompletionTokens} cached_tokens={CachedTokens} cost_usd={CostUsd} "
            + "cache={Cache} attempts={Attempts} waited_ms={WaitedMs} stream={Stream}")]
    private static partial void Completed(
        ILogger logger, string requestId, string protocol, string tenant, string tokenId, string requestedModel,
        string? answeringModel, string? provider, string? keyId, int status, string? errorCode, double latencyMs,
        double? firstByteMs, long promptTokens, long completionTokens, long cachedTokens, decimal costUsd, string cache,
        int attempts, double waitedMs, bool stream);
}
