using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Roxy.Api.Protocols;
using Roxy.Api.Providers;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tracing;

namespace Roxy.Api.Tracing;

/// <summary>
/// Builds each request's trace as it goes (<see cref="ProxyRequest.Steps"/>) and queues it, finished, for the tenant's
/// trace grain (<see cref="TraceFlusher"/> sends it). On the request path it only builds records (a step per attempt
/// or refusal, the trace at the end): no grain call, no lock, no formatting but on a 429 or an auth failure.
/// </summary>
public sealed class TraceRecorder(UnsentTraces queue, TimeProvider time)
{
    /// <summary>This frontend, as traces name it: the machine and an id of this process's Roxy instance.</summary>
    public string Frontend { get; } = Environment.MachineName + "/" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    public void LeaseRefused(ProxyRequest request, RouteTarget target, KeyLease lease)
    {
        var (kind, detail) = lease.Status switch
        {
            LeaseStatus.NoKeys => (TraceStepKind.NoKeys, null),
            LeaseStatus.Exhausted => (TraceStepKind.Exhausted, null),
            LeaseStatus.TooLarge => (TraceStepKind.TooLarge, null),
            LeaseStatus.ProviderBackoff => (TraceStepKind.ProviderBackoff, null),
            _ => (TraceStepKind.Unsupported, "invalid_token_estimate"),
        };
        var retryAfter = lease.Status is LeaseStatus.Exhausted or LeaseStatus.ProviderBackoff ? lease.RetryAfter : (TimeSpan?)null;
        Add(request, new TraceStep(target.Provider, target.Model, kind, null, null, null, 0, lease.Skipped, retryAfter, detail));
    }

    public void TargetUnsupported(ProxyRequest request, RouteTarget target, string reason) =>
        Add(request, new TraceStep(target.Provider, target.Model, TraceStepKind.Unsupported, null, null, null, 0, null, null, reason));

    public void SecretMissing(ProxyRequest request, RouteTarget target, KeyLease lease) =>
        Add(request, new TraceStep(target.Provider, target.Model, TraceStepKind.SecretMissing, lease.Key?.Id, null, null, 0, lease.Skipped, null, null));

    public void AttemptEnded(ProxyRequest request, RouteTarget target, KeyLease lease, AttemptResult result, long started)
    {
        var durationMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        TimeSpan? retryAfter = null;
        string? detail = null;
        switch (result.Outcome)
        {
            case UpstreamOutcome.Success:
                break;
            case UpstreamOutcome.RateLimited:
                // What the rotation grain makes of the 429 (KeyPool): cooling for the longest of the key's cooldown and
                // the provider's hints. Said here because the grain learns it only from the report that follows.
                var cooldown = Max(TimeSpan.FromSeconds(Math.Max(0, lease.Key?.CooldownSec ?? 0)), Max(result.Hints.RetryAfter, result.Hints.ResetAfter));
                retryAfter = cooldown;
                detail = string.Create(CultureInfo.InvariantCulture, $"cooling until {time.GetUtcNow() + cooldown:HH:mm:ss} UTC");
                break;
            case UpstreamOutcome.AuthFailed:
                detail = result.UpstreamStatus is { } auth ? string.Create(CultureInfo.InvariantCulture, $"disabled: {auth}") : "disabled: auth";
                break;
            case UpstreamOutcome.QuotaExhausted:
                detail = "disabled: quota";
                break;
            case UpstreamOutcome.ProviderOverloaded:
                retryAfter = result.Hints.RetryAfter;
                detail = "provider backoff";
                break;
            case UpstreamOutcome.CallerError:
                detail = result.Error?.Code ?? "caller error";
                break;
            case UpstreamOutcome.Cancelled:
                detail = "client went away";
                break;
            default:
                detail = result.Error?.Code;
                break;
        }

        Add(request, new TraceStep(
            target.Provider, target.Model, TraceStepKind.Attempt, lease.Key?.Id, result.UpstreamStatus, Outcome(result.Outcome),
            durationMs, lease.Skipped, retryAfter, detail));
    }

    public void Waited(ProxyRequest request, TimeSpan waited) =>
        Add(request, new TraceStep("", "", TraceStepKind.Waited, null, null, null, waited.TotalMilliseconds, null, null, null));

    public void Completed(ProxyRequest request, int status)
    {
        var now = Stopwatch.GetTimestamp();
        var latency = Stopwatch.GetElapsedTime(request.StartedAt, now);
        var firstByteMs = request.FirstByteAt == 0 ? -1 : Stopwatch.GetElapsedTime(request.StartedAt, request.FirstByteAt).TotalMilliseconds;
        queue.Enqueue(new RequestTrace(
            request.RequestId,
            request.Identity.TenantId,
            request.Identity.TokenId,
            time.GetUtcNow() - latency,
            Protocol(request),
            request.Model,
            request.Route?.RuleSource,
            request.Stream,
            status,
            request.Error?.Code,
            request.CacheResult,
            request.Answered?.Provider,
            request.Answered?.Model,
            request.KeyId,
            request.PromptTokens,
            request.CompletionTokens,
            request.CachedTokens,
            request.Cost,
            request.Saved,
            latency.TotalMilliseconds,
            firstByteMs,
            request.Waited.TotalMilliseconds,
            (IReadOnlyList<TraceStep>?)request.Steps ?? [],
            Frontend));
    }

    /// <summary>The route and protocol the client used, as traces name it.</summary>
    public static string Protocol(ProxyRequest request) => request.Operation == UpstreamOperation.Embeddings
        ? "openai.embeddings"
        : request.Sink.Protocol == WireProtocol.AnthropicMessages ? "anthropic.messages" : "openai.chat";

    /// <summary>How an attempt ended, as traces name it.</summary>
    public static string Outcome(UpstreamOutcome outcome) => outcome switch
    {
        UpstreamOutcome.Success => "success",
        UpstreamOutcome.RateLimited => "rate_limited",
        UpstreamOutcome.QuotaExhausted => "quota_exhausted",
        UpstreamOutcome.AuthFailed => "auth_failed",
        UpstreamOutcome.ProviderOverloaded => "provider_overloaded",
        UpstreamOutcome.CallerError => "caller_error",
        UpstreamOutcome.Cancelled => "cancelled",
        _ => "failed",
    };

    private static void Add(ProxyRequest request, TraceStep step) => (request.Steps ??= new List<TraceStep>(2)).Add(step);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan Max(TimeSpan? a, TimeSpan? b) => Max(a ?? TimeSpan.Zero, b ?? TimeSpan.Zero);
}
