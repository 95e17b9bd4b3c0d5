using Roxy.Api.Errors;
using Roxy.Api.Providers;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Proxy;

/// <summary>How one upstream attempt ended: answered (committed), passed through, or failed and retryable.</summary>
public sealed class AttemptResult
{
    public UpstreamOutcome Outcome { get; init; }

    /// <summary>Something was written to the client: no failover is possible any more.</summary>
    public bool Committed { get; init; }

    /// <summary>The client's answer when the attempt did not commit and no other attempt succeeds.</summary>
    public ProxyError? Error { get; init; }

    /// <summary>A caller error (400/404/422) to hand back as the provider sent it.</summary>
    public PassThrough? PassThrough { get; init; }

    /// <summary>A caller error restated in <see cref="Error"/> for a client of another protocol: answered, not retried.</summary>
    public bool CallerFault { get; init; }

    /// <summary>The provider refused the prompt as longer than the model's context: a rule may opt in to failing over.</summary>
    public bool ContextLengthExceeded { get; init; }

    public RateLimitHints Hints { get; init; }
    public long PromptTokens { get; init; }
    public long CompletionTokens { get; init; }

    /// <summary>The usage is known: reported by the provider, or counted from what reached the client.</summary>
    public bool UsageKnown { get; init; }

    /// <summary>
    /// The provider certainly spent no tokens: it answered with an error, or the request never reached it. Anything
    /// else that failed (a timeout after sending, a broken answer) keeps its reservation as estimated.
    /// </summary>
    public bool ChargedNothing { get; init; }

    /// <summary>True when the whole provider should be skipped (overload, timeouts).</summary>
    public bool SkipProvider { get; init; }

    /// <summary>The provider's HTTP status, for the request's trace; null when it never answered (refused, timed out).</summary>
    public int? UpstreamStatus { get; set; }
}

public sealed record PassThrough(int Status, string? ContentType, PooledBuffer Body);
