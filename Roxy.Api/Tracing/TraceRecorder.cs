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
/// or refusal, the trace at the end): no grain call, no lock, no formatting but on a 429 or an auth failure. A trace
/// stays small however long its request waits: a refusal met again on the next pass of the wait loop, and each further
/// wait, fold into the step already there (<see cref="TraceStep.Repeats"/>), and past <see cref="MaxSteps"/> steps only
/// the latest is kept, after a marker for those left out.
/// </summary>
public sealed class TraceRecorder(UnsentTraces queue, TimeProvider time)
{
    /// <summary>The most steps a trace keeps, besides the <see cref="TraceStepKind.Omitted"/> marker.</summary>
    public const int MaxSteps = 32;

    /// <summary>
    /// This frontend, as traces name it: an opaque id of this process (tenant admins read traces; the machine's name is
    /// the operator's, logged with this id once at start by <see cref="TraceFlusher"/>).
    /// </summary>
    public string Frontend { get; } = "fe-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

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
        AddOrFold(request, new TraceStep(target.Provider, target.Model, kind, null, null, null, 0, lease.Skipped, retryAfter, detail));
    }

    public void TargetUnsupported(ProxyRequest request, RouteTarget target, string reason) =>
        AddOrFold(request, new TraceStep(target.Provider, target.Model, TraceStepKind.Unsupported, null, null, null, 0, null, null, reason));

    public void SecretMissing(ProxyRequest request, RouteTarget target, KeyLease lease) =>
        AddOrFold(request, new TraceStep(target.Provider, target.Model, TraceStepKind.SecretMissing, lease.Key?.Id, null, null, 0, lease.Skipped, null, null));

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
                // What the rotation grain makes of the 429, by the same rule and cap (KeyPool): said here because the
                // grain learns of it only from the report that follows.
                var cooldown = RateLimitCooldown.After(lease.Key?.CooldownSec ?? 0, result.Hints.RetryAfter, result.Hints.ResetAfter);
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
        AddOrFold(request, new TraceStep("", "", TraceStepKind.Waited, null, null, null, waited.TotalMilliseconds, null, null, null));

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
            (IReadOnlyList<TraceStep>?)WithMarker(request) ?? [],
            Frontend));
    }

    /// <summary>The route and protocol the client used, as traces name it.</summary>
    public static string Protocol(ProxyRequest request) => request.Operation == UpstreamOperation.Embeddings
        ? "openai-embeddings"
        : request.Sink.Protocol == WireProtocol.AnthropicMessages ? "anthropic-messages" : "openai-chat";

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

    private static void Add(ProxyRequest request, TraceStep step)
    {
        var steps = request.Steps ??= new List<TraceStep>(2);
        if (steps.Count < MaxSteps)
        {
            steps.Add(step);
            return;
        }

        // Full: the first steps stay, and the last slot holds the latest, so the trace still ends with how it ended.
        steps[^1] = step;
        request.StepsOmitted++;
    }

    /// <summary>
    /// Folds a refusal or a wait into the same step met since the last attempt (the wait loop's next pass), else adds
    /// it. Looks back only over the refusals and waits of one pass or a few (there are a handful per target).
    /// </summary>
    private static void AddOrFold(ProxyRequest request, TraceStep step)
    {
        if (request.Steps is { } steps)
        {
            for (var i = steps.Count - 1; i >= 0 && steps[i].Kind != TraceStepKind.Attempt; i--)
            {
                var seen = steps[i];
                if (seen.Kind == step.Kind && seen.Provider == step.Provider && seen.Model == step.Model
                    && seen.KeyId == step.KeyId && seen.Detail == step.Detail)
                {
                    steps[i] = step with { DurationMs = seen.DurationMs + step.DurationMs, Repeats = seen.Repeats + 1 };
                    return;
                }
            }
        }

        Add(request, step);
    }

    /// <summary>The trace's steps (null when none), with a marker before the last one for those a long trace left out.</summary>
    private static List<TraceStep>? WithMarker(ProxyRequest request)
    {
        var steps = request.Steps;
        if (steps is not null && request.StepsOmitted > 0)
        {
            steps.Insert(steps.Count - 1, new TraceStep("", "", TraceStepKind.Omitted, null, null, null, 0, null, null, null, request.StepsOmitted));
        }

        return steps;
    }
}
