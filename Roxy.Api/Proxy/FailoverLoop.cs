using Roxy.Api.Configuration;
using Roxy.Api.Errors;
using Roxy.Api.Observability;
using Roxy.Api.Protocols;
using Roxy.Api.Providers;
using Roxy.Api.Secrets;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Proxy;

/// <summary>
/// Tries the route's targets in order and, within each, the keys the rotation grain hands out, until an attempt
/// commits an answer. Order of resort when keys have no headroom: other keys, other targets, then a bounded wait
/// here in the frontend (never inside a grain), then 429 with Retry-After.
/// </summary>
public sealed class FailoverLoop(
    RotationGrains rotations,
    ProviderRegistry providers,
    SecretResolver secrets,
    UpstreamAttempt attempt,
    RequestObserver observer,
    ResolvedConfig config,
    TimeProvider time,
    ILogger<FailoverLoop> logger)
{
    private const int MaxAttempts = 4;
    private static readonly TimeSpan MaxClusterPatience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMilliseconds(500);
    private readonly TimeSpan _maxWait = TimeSpan.FromMilliseconds(config.Raw.Rotation.MaxWaitMs);

    // How long a request rides out a silo's death: within its first-token budget, since the client waits that long
    // for an answer anyway. A killed silo is declared dead, and its grains reactivate elsewhere, within seconds.
    private readonly TimeSpan _clusterPatience = TimeSpan.FromSeconds(Math.Min(config.Raw.Server.FirstTokenTimeoutSec, MaxClusterPatience.TotalSeconds));

    /// <summary>
    /// Returns null when an answer was committed or passed through, <see cref="ProxyError.ClientClosed"/> when the client
    /// left during an upstream call, otherwise the error to send.
    /// </summary>
    public async Task<ProxyError?> RunAsync(ProxyRequest request)
    {
        var route = request.Route!;
        var waitStarted = time.GetTimestamp();
        while (true)
        {
            ProxyError? lastError = null;
            TimeSpan? soonest = null;
            var tooLarge = false;
            var noKeys = 0;

            for (var t = 0; t < route.Targets.Count; t++)
            {
                var target = route.Targets[t];
                var provider = providers.Get(target.Provider);
                if (provider is null)
                {
                    // Every provider kind the config accepts has a protocol; this guards a registry out of step with it.
                    lastError ??= ProxyError.ProviderNotSupported(target.Provider);
                    observer.TargetUnsupported(request, target, "provider_not_supported");
                    continue;
                }

                if (request.Operation == UpstreamOperation.Embeddings && provider.Protocol != WireProtocol.OpenAiChat)
                {
                    // Only OpenAI's protocol has embeddings: refused before a key is reserved for it.
                    lastError ??= ProxyError.EmbeddingsNotSupported(target.Provider);
                    observer.TargetUnsupported(request, target, "embeddings_not_supported");
                    continue;
                }

                // Built before any key is reserved: a request this protocol cannot express (n > 1 for Anthropic) costs
                // no lease and no attempt, and never hides an upstream error another target gave.
                var untranslatable = UpstreamBodies.Build(request, provider, target.Model, out var built);
                if (untranslatable is not null)
                {
                    lastError ??= untranslatable;
                    observer.TargetUnsupported(request, target, untranslatable.Code);
                    continue;
                }

                using var upstreamBody = built!;
                var rotation = rotations.Get(request.Identity.TenantId, target.Provider);
                List<string>? excluded = null;
                while (request.Attempts < MaxAttempts)
                {
                    var lease = await AcquireAsync(rotation, request, excluded);
                    if (lease.Status != LeaseStatus.Granted)
                    {
                        observer.LeaseRefused(request, target, lease);
                    }

                    if (lease.Status == LeaseStatus.NoKeys)
                    {
                        noKeys++;
                        break;
                    }

                    if (lease.Status == LeaseStatus.ProviderBackoff)
                    {
                        // Overloaded: move to the next target; if none serves, this is the answer.
                        lastError ??= ProxyError.ProviderOverloaded(target.Provider, lease.RetryAfter);
                        break;
                    }

                    if (lease.Status == LeaseStatus.InvalidEstimate)
                    {
                        return ProxyError.InvalidTokenEstimate;
                    }

                    if (lease.Status == LeaseStatus.TooLarge)
                    {
                        tooLarge = true;
                        break;
                    }

                    if (lease.Status == LeaseStatus.Exhausted)
                    {
                        soonest = soonest is { } s && s < lease.RetryAfter ? s : lease.RetryAfter;
                        break;
                    }

                    var key = lease.Key!;
                    var secret = secrets.Resolve(key, request.Identity.TenantId);
                    if (secret is null)
                    {
                        logger.LogWarning("Key {KeyId} of provider {Provider} has no secret in this process (variable {Variable} unset?)", key.Id, key.Provider, key.Source is KeySource.Chat ? "-" : key.SecretRef);
                        observer.SecretMissing(request, target, lease);
                        await rotation.ReportNowAsync(new UsageReport(key.Id, lease.LeaseId, 0, UpstreamOutcome.Failed, null, null, null, null));
                        (excluded ??= []).Add(key.Id);
                        continue;
                    }

                    request.Attempts++;
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    var result = await attempt.RunAsync(request, provider, target, key, secret, upstreamBody);
                    observer.AttemptEnded(request, target, lease, result, started);
                    var report = new UsageReport(
                        key.Id, lease.LeaseId, result.PromptTokens + result.CompletionTokens, result.Outcome,
                        result.Hints.RetryAfter, result.Hints.RemainingRequests, result.Hints.RemainingTokens, result.Hints.ResetAfter,
                        // A known zero frees the reservation; an unknown usage keeps the estimate, which errs high.
                        result.UsageKnown || result.ChargedNothing);

                    if (result.Outcome == UpstreamOutcome.Success)
                    {
                        rotation.Defer(report, time.GetTimestamp());
                    }
                    else
                    {
                        await rotation.ReportNowAsync(report);
                    }

                    if (result.Outcome == UpstreamOutcome.Cancelled)
                    {
                        // The client left during the call (mid-stream or before any byte): nobody to answer or fail over for.
                        return ProxyError.ClientClosed;
                    }

                    if (result.Committed)
                    {
                        return null;
                    }

                    if (result.ContextLengthExceeded && route.FailoverOnContextLength && t < route.Targets.Count - 1)
                    {
                        // The rule opted in: a target with a larger context window may take the prompt. The caller
                        // error is the answer only if no later target does better.
                        result.PassThrough?.Body.Dispose();
                        lastError = result.Error;
                        break;
                    }

                    if (result.PassThrough is { } pass)
                    {
                        await WritePassThroughAsync(request, pass, target, key.Id);
                        return null;
                    }

                    if (result.CallerFault)
                    {
                        return result.Error;
                    }

                    lastError = result.Error;
                    if (result.SkipProvider)
                    {
                        break;
                    }

                    (excluded ??= []).Add(key.Id);
                }
            }

            if (lastError is not null && soonest is null)
            {
                return lastError;
            }

            if (soonest is { } retryAfter)
            {
                var waited = time.GetElapsedTime(waitStarted);
                var remaining = _maxWait - waited;
                // Wait only when a slot frees within the budget; otherwise the wait would just delay the 429.
                if (retryAfter <= remaining && request.Attempts < MaxAttempts)
                {
                    var delayStarted = time.GetTimestamp();
                    await Task.Delay(retryAfter < TimeSpan.FromMilliseconds(5) ? TimeSpan.FromMilliseconds(5) : retryAfter, time, request.Http.RequestAborted);
                    observer.Waited(request, time.GetElapsedTime(delayStarted));
                    continue;
                }

                return ProxyError.KeysExhausted(retryAfter);
            }

            if (tooLarge)
            {
                return request.Operation == UpstreamOperation.Embeddings
                    ? ProxyError.InputLargerThanAnyKey(request.EstimatedTokens)
                    : ProxyError.LargerThanAnyKey(request.EstimatedTokens);
            }

            return lastError ?? ProxyError.NoAvailableKeys(noKeys > 0 ? route.Targets[0].Provider : null);
        }
    }

    /// <summary>
    /// Asks the rotation grain, riding out a cluster change (a silo killed or leaving, its grains reactivating on a
    /// survivor) with retries for up to the request's cluster patience before the request fails with 503. Each call
    /// has its own short deadline (<see cref="RotationChannel.CallDeadline"/>), so a hung silo cannot hold a request.
    /// </summary>
    private async ValueTask<KeyLease> AcquireAsync(RotationChannel rotation, ProxyRequest request, List<string>? excluded)
    {
        var started = time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(50);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await rotation.AcquireAsync(request.EstimatedTokens, excluded);
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException
                && time.GetElapsedTime(started) + delay < _clusterPatience
                && !request.Http.RequestAborted.IsCancellationRequested)
            {
                logger.LogWarning("Rotation grain call {Attempt} failed ({Error}); retrying in {Delay} ms", attempt, ex.GetType().Name, delay.TotalMilliseconds);
                await Task.Delay(delay, time, request.Http.RequestAborted);
                delay = delay * 2 < MaxRetryDelay ? delay * 2 : MaxRetryDelay;
            }
        }
    }

    private static async Task WritePassThroughAsync(ProxyRequest request, PassThrough pass, Routing.RouteTarget target, string keyId)
    {
        using var body = pass.Body;
        var response = request.Http.Response;
        response.StatusCode = pass.Status;
        response.ContentType = ResponseCommitter.SendableOr(pass.ContentType, "application/json");
        response.Headers["x-roxy-model"] = target.Model;
        response.Headers["x-roxy-provider"] = target.Provider;
        response.Headers["x-roxy-key"] = keyId;
        response.Headers["x-roxy-cache"] = request.CacheResult;
        response.ContentLength = body.Length;
        request.Answered = target;
        request.KeyId = keyId;
        await response.Body.WriteAsync(body.Memory, request.Http.RequestAborted);
    }
}
