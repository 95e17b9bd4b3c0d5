using System.Diagnostics;
using Roxy.Api.Caching;
using Roxy.Api.Inbound;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Providers;
using Roxy.Api.Routing;
using Roxy.Api.Tenancy;

namespace Roxy.Api.Proxy;

/// <summary>One proxied request as it moves through the pipeline, and what the request log line reports.</summary>
public sealed class ProxyRequest
{
    public ProxyRequest(HttpContext http, string requestId, TenantIdentity identity, PooledBuffer body, ChatRequestInfo info)
        : this(http, requestId, identity, body, UpstreamOperation.ChatCompletions, info.Model, info.Stream) => Info = info;

    public ProxyRequest(HttpContext http, string requestId, TenantIdentity identity, PooledBuffer body, MessagesRequestInfo messages)
        : this(http, requestId, identity, body, UpstreamOperation.ChatCompletions, messages.Model, messages.Stream) => Messages = messages;

    public ProxyRequest(HttpContext http, string requestId, TenantIdentity identity, PooledBuffer body, EmbeddingsRequestInfo embeddings)
        : this(http, requestId, identity, body, UpstreamOperation.Embeddings, embeddings.Model, stream: false) => Embeddings = embeddings;

    private ProxyRequest(HttpContext http, string requestId, TenantIdentity identity, PooledBuffer body, UpstreamOperation operation, string model, bool stream)
    {
        Http = http;
        RequestId = requestId;
        Identity = identity;
        Body = body;
        Operation = operation;
        Model = model;
        Stream = stream;
    }

    public HttpContext Http { get; }
    public string RequestId { get; }
    public TenantIdentity Identity { get; }
    public PooledBuffer Body { get; }
    public long StartedAt { get; } = Stopwatch.GetTimestamp();

    /// <summary>What the client asked for: a chat completion or embeddings.</summary>
    public UpstreamOperation Operation { get; }

    /// <summary>The model as the client named it.</summary>
    public string Model { get; }

    public bool Stream { get; }

    /// <summary>The OpenAI chat request as read; null for embeddings and Anthropic Messages.</summary>
    public ChatRequestInfo? Info { get; }

    /// <summary>The Anthropic Messages request as read; null for the OpenAI routes.</summary>
    public MessagesRequestInfo? Messages { get; }

    /// <summary>
    /// An Anthropic Messages request as OpenAI chat, for targets that do not speak Anthropic's protocol: translated
    /// at the first such target, then shared by the rest. Disposed with the request.
    /// </summary>
    public TranslatedRequest? ChatForm { get; set; }

    /// <summary>The embeddings request as read; null for chat.</summary>
    public EmbeddingsRequestInfo? Embeddings { get; }

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

    /// <summary>The part of <see cref="PromptTokens"/> the provider read from its own prompt cache (priced as cached input).</summary>
    public long CachedTokens { get; set; }

    /// <summary>What the request reserved against its budgets; null when neither its tenant nor its token has one.</summary>
    public Budgets.BudgetHold? BudgetHold { get; set; }
    /// <summary><c>hit</c>, <c>miss</c> or <c>bypass</c>: the <c>x-roxy-cache</c> header and the log line's cache result.</summary>
    public string CacheResult { get; set; } = "bypass";

    /// <summary>Set when the answer may be stored in the prompt cache: the relay feeds it what it passes on.</summary>
    public CompletionRecorder? Recorder { get; set; }

    /// <summary>The error Roxy answered with, when it answered with one (for the log line, metrics and trace).</summary>
    public Errors.ProxyError? Error { get; set; }

    /// <summary>What the answer cost, in USD (zero for a cache hit), as priced when the request ended.</summary>
    public decimal Cost { get; set; }

    /// <summary>What a cache hit saved, in USD.</summary>
    public decimal Saved { get; set; }

    /// <summary>How long the request waited in the failover loop for a key to free up.</summary>
    public TimeSpan Waited { get; set; }

    /// <summary>The routing steps so far, for the request's trace (<c>#roxy why</c>); created at the first step.</summary>
    public List<Grains.Tracing.TraceStep>? Steps { get; set; }

    /// <summary>Steps the trace left out once it held <see cref="Tracing.TraceRecorder.MaxSteps"/>.</summary>
    public int StepsOmitted { get; set; }
}
