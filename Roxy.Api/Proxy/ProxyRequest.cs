using System.Diagnostics;
using Roxy.Api.Inbound;
using Roxy.Api.Routing;
using Roxy.Api.Tenancy;

namespace Roxy.Api.Proxy;

/// <summary>One proxied request as it moves through the pipeline, and what the request log line reports.</summary>
public sealed class ProxyRequest(HttpContext http, string requestId, TenantIdentity identity, PooledBuffer body, ChatRequestInfo info)
{
    public HttpContext Http { get; } = http;
    public string RequestId { get; } = requestId;
    public TenantIdentity Identity { get; } = identity;
    public PooledBuffer Body { get; } = body;
    public ChatRequestInfo Info { get; } = info;
    public long StartedAt { get; } = Stopwatch.GetTimestamp();

    /// <summary>Where the answer goes, in the client's protocol.</summary>
    public IClientSink Sink { get; set; } = null!;

    public ResolvedRoute? Route { get; set; }
    public long EstimatedTokens { get; set; }

    /// <summary>The prompt part of <see cref="EstimatedTokens"/>: what an answer cut short is charged for its input.</summary>
    public int PromptEstimate { get; set; }

    public RouteTarget? Answered { get; set; }
    public string? KeyId { get; set; }
    public int Attempts { get; set; }
    public long FirstByteAt { get; set; }
    public long PromptTokens { get; set; }
    public long CompletionTokens { get; set; }
    public string CacheResult { get; set; } = "bypass";
}
