using Roxy.Api.Budgets;
using Roxy.Api.Caching;
using Roxy.Api.Commands;
using Roxy.Api.Configuration;
using Roxy.Api.Errors;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Inbound.OpenAi;
using Roxy.Api.Observability;
using Roxy.Api.Protocols;
using Roxy.Api.Routing;
using Roxy.Api.Tenancy;
using Roxy.Api.Usage;
using Roxy.Grains.Caching;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Proxy;

/// <summary>
/// <c>POST /v1/chat/completions</c>, <c>POST /v1/messages</c> and <c>POST /v1/embeddings</c>, one awaited step per
/// line: authenticate → read and validate the body in the client's protocol → answer a <c>#roxy</c> command or strip
/// earlier ones → resolve the model → reserve and call through the failover loop → log. The response is written by
/// the attempt that answers, in the client's protocol; this class writes only errors that happen before any attempt
/// commits, in that protocol's shape.
/// </summary>
public sealed class ProxyPipeline(
    TokenAuthenticator authenticator,
    CommandHandler commands,
    TenantSnapshotCache tenants,
    ModelResolver resolver,
    TokenEstimator estimator,
    FailoverLoop failover,
    PromptCache cache,
    CacheStatsRecorder cacheStats,
    BudgetGate budgets,
    UsageAccounting accounting,
    RequestObserver observer,
    ResolvedConfig config,
    TimeProvider time,
    ILogger<ProxyPipeline> logger)
{
    // Token counting costs roughly 25 µs per KiB of text: beyond this a body's work leaves the IO thread.
    private const int InlineWorkLimit = 4 * 1024;

    private const string CacheHeader = "x-roxy-cache";

    private readonly long _maxBodyBytes = config.Raw.Server.MaxBodyBytes;

    public async Task HandleChatCompletionsAsync(HttpContext http)
    {
        var requestId = RequestIds.Assign(http);
        try
        {
            await HandleAsync(http, requestId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            // Nothing escapes as a bare 500 with an empty body, whichever step threw.
            await WriteFailureAsync(http, requestId, ex);
        }
    }

    public async Task HandleEmbeddingsAsync(HttpContext http)
    {
        var requestId = RequestIds.Assign(http);
        try
        {
            await HandleEmbeddingsAsync(http, requestId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            await WriteFailureAsync(http, requestId, ex);
        }
    }

    /// <summary><c>POST /v1/messages</c>: Anthropic's protocol in and out, to a target of any protocol.</summary>
    public async Task HandleMessagesAsync(HttpContext http)
    {
        var requestId = AssignAnthropicRequestId(http);
        try
        {
            await HandleMessagesAsync(http, requestId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            await WriteFailureAsync(http, requestId, ex, WireProtocol.AnthropicMessages);
        }
    }

    /// <summary><c>POST /v1/messages/count_tokens</c>: the prompt's tokens as Roxy counts them, nothing sent upstream.</summary>
    public async Task HandleCountTokensAsync(HttpContext http)
    {
        var requestId = AssignAnthropicRequestId(http);
        try
        {
            await CountTokensAsync(http, requestId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            await WriteFailureAsync(http, requestId, ex, WireProtocol.AnthropicMessages);
        }
    }

    // Anthropic's SDKs read the request id from 'request-id' (their own API's header); the OpenAI routes' name stays too.
    private static string AssignAnthropicRequestId(HttpContext http)
    {
        var requestId = RequestIds.Assign(http);
        http.Response.Headers["request-id"] = requestId;
        return requestId;
    }

    private async Task WriteFailureAsync(HttpContext http, string requestId, Exception ex, WireProtocol protocol = WireProtocol.OpenAiChat)
    {
        if (Failed(http, requestId, ex) is { } error)
        {
            http.Response.Clear();
            // Cleared with everything else; the id is what the error message tells the caller to quote.
            http.Response.Headers["x-request-id"] = requestId;
            http.Response.Headers[CacheHeader] = "bypass";
            if (protocol == WireProtocol.AnthropicMessages)
            {
                http.Response.Headers["request-id"] = requestId;
            }

            observer.Rejected(http, requestId, null, protocol, error);
            await ErrorWriter.WriteAsync(http, error, protocol);
        }
    }

    /// <summary>
    /// Answers a request refused before it became a <see cref="ProxyRequest"/> (a bad token, an unreadable or invalid
    /// body), so that it gets its log line and metrics like a routed one; <paramref name="identity"/> is null for a bad token.
    /// </summary>
    private Task RejectAsync(HttpContext http, string requestId, TenantIdentity? identity, ProxyError error, WireProtocol protocol = WireProtocol.OpenAiChat)
    {
        observer.Rejected(http, requestId, identity, protocol, error);
        return ErrorWriter.WriteAsync(http, error, protocol);
    }

    /// <summary>
    /// Logs an unexpected failure and says what to answer: nothing when the response has started (the connection is
    /// aborted instead), 503 when the cluster or its storage did not answer (the client can retry), else 500.
    /// </summary>
    private ProxyError? Failed(HttpContext http, string requestId, Exception ex)
    {
        logger.LogError(ex, "Request {RequestId} failed inside Roxy", requestId);
        if (http.Response.HasStarted)
        {
            http.Abort();
            return null;
        }

        return ProxyError.ForClusterFailure(ex) ?? ProxyError.Internal(requestId);
    }

    private async Task HandleAsync(HttpContext http, string requestId)
    {
        var identity = await authenticator.AuthenticateAsync(http);
        if (identity is null)
        {
            await RejectAsync(http, requestId, null, ProxyError.InvalidApiKey);
            return;
        }

        var (body, bodyError) = await RequestBodyReader.ReadAsync(http, _maxBodyBytes);
        if (body is null)
        {
            await RejectAsync(http, requestId, identity, bodyError!);
            return;
        }

        if (body.Length > InlineWorkLimit)
        {
            // Requests run on the socket's IO thread (RoxyHost); validating and counting tokens of a large body
            // takes long enough to stall the other connections served by that thread, so it moves to the pool.
            await Task.Yield();
        }

        var invalid = ChatRequestReader.TryRead(body.Span, out var info);
        if (invalid is not null)
        {
            body.Dispose();
            await RejectAsync(http, requestId, identity, invalid);
            return;
        }

        // A #roxy command ends here: answered by Roxy, never forwarded, cached, or logged with its arguments.
        if (info.LastUserIsCommand)
        {
            var text = ChatRequestReader.LastUserText(body.Span, info)!;
            body.Dispose();
            await commands.HandleAsync(http, requestId, identity, text, WireProtocol.OpenAiChat, info.Stream, info.ClientWantsUsage);
            return;
        }

        // Earlier command turns (and Roxy's answers) never travel upstream.
        if (info.CommandMessages > 0)
        {
            body = WithoutCommandTurns(body, HistoryStripper.Strip);
            invalid = ChatRequestReader.TryRead(body.Span, out info);
            if (invalid is not null)
            {
                body.Dispose();
                await RejectAsync(http, requestId, identity, ProxyError.OnlyCommandTurnsLeft);
                return;
            }
        }

        using (body)
        {
            var request = new ProxyRequest(http, requestId, identity, body, info);
            request.Sink = new OpenAiChatSink(request, time);
            await ProxyAndLogAsync(request);
        }
    }

    /// <summary>
    /// The steps every proxied route shares, from routing on. However the request ends (answered, refused, failed inside
    /// Roxy, or its client gone during a wait, a cluster retry, an upstream call or a write), it is settled, then counted,
    /// logged and traced exactly once.
    /// </summary>
    private async Task ProxyAndLogAsync(ProxyRequest request)
    {
        var http = request.Http;
        try
        {
            ProxyError? error;
            var aborted = false;
            try
            {
                error = await ProxyAsync(request);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                error = ProxyError.ClientClosed;
            }
            catch (Exception ex)
            {
                // Caught here too, so that the request's log line is still written.
                error = Failed(http, request.RequestId, ex);
                // Null when the answer had started: the connection was aborted, and the line still says Roxy failed it.
                aborted = error is null;
            }
            finally
            {
                // However the request ended (a client gone mid-stream included): priced, its budget settled, its usage counted.
                accounting.Complete(request);
            }

            request.Error = aborted ? ProxyError.Internal(request.RequestId) : error;
            if (error is not null && error != ProxyError.ClientClosed && !http.Response.HasStarted)
            {
                http.Response.Headers[CacheHeader] = request.CacheResult;
                await ErrorWriter.WriteAsync(http, error, request.Sink.Protocol);
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // Gone while its error was written.
            request.Error = ProxyError.ClientClosed;
        }
        finally
        {
            observer.Completed(request, request.Error == ProxyError.ClientClosed ? ProxyError.ClientClosedStatus : http.Response.StatusCode);
        }
    }

    private async Task HandleMessagesAsync(HttpContext http, string requestId)
    {
        const WireProtocol protocol = WireProtocol.AnthropicMessages;
        var identity = await authenticator.AuthenticateAsync(http);
        if (identity is null)
        {
            await RejectAsync(http, requestId, null, ProxyError.InvalidApiKey, protocol);
            return;
        }

        var (body, bodyError) = await RequestBodyReader.ReadAsync(http, _maxBodyBytes);
        if (body is null)
        {
            await RejectAsync(http, requestId, identity, bodyError!, protocol);
            return;
        }

        if (body.Length > InlineWorkLimit)
        {
            // Coding agents send 50–500 KB with every turn: read and counted off the IO thread, as for chat.
            await Task.Yield();
        }

        var invalid = MessagesRequestReader.TryRead(body.Span, countTokens: false, out var info);
        if (invalid is not null)
        {
            body.Dispose();
            await RejectAsync(http, requestId, identity, invalid, protocol);
            return;
        }

        if (info.LastUserIsCommand)
        {
            var text = MessagesRequestReader.LastUserText(body.Span, info)!;
            body.Dispose();
            await commands.HandleAsync(http, requestId, identity, text, protocol, info.Stream, includeUsage: true);
            return;
        }

        if (info.CommandMessages > 0)
        {
            body = WithoutCommandTurns(body, MessagesHistoryStripper.Strip);
            invalid = MessagesRequestReader.TryRead(body.Span, countTokens: false, out info);
            if (invalid is not null)
            {
                body.Dispose();
                await RejectAsync(http, requestId, identity, ProxyError.OnlyCommandTurnsLeft, protocol);
                return;
            }
        }

        info.AnthropicVersion = ForwardableHeader(http, "anthropic-version");
        info.AnthropicBeta = ForwardableHeader(http, "anthropic-beta");
        var request = new ProxyRequest(http, requestId, identity, body, info);
        try
        {
            request.Sink = new AnthropicMessagesSink(request);
            await ProxyAndLogAsync(request);
        }
        finally
        {
            request.ChatForm?.Dispose();
            body.Dispose();
        }
    }

    private delegate PooledBuffer HistoryStrip(ReadOnlySpan<byte> body);

    // The body without its earlier command turns, in the client's protocol; the original is let go either way.
    private static PooledBuffer WithoutCommandTurns(PooledBuffer body, HistoryStrip strip)
    {
        try
        {
            return strip(body.Span);
        }
        finally
        {
            body.Dispose();
        }
    }

    // Forwarded only to an Anthropic provider, and only what a header may carry: a value Kestrel accepted but that is
    // not printable ASCII (or is absurdly long) is dropped rather than sent.
    private static string? ForwardableHeader(HttpContext http, string name)
    {
        var value = http.Request.Headers[name].ToString();
        return value.Length is > 0 and <= 1024 && !value.AsSpan().ContainsAnyExceptInRange(' ', '~') ? value : null;
    }

    private async Task CountTokensAsync(HttpContext http, string requestId)
    {
        const WireProtocol protocol = WireProtocol.AnthropicMessages;
        var identity = await authenticator.AuthenticateAsync(http);
        if (identity is null)
        {
            await RejectAsync(http, requestId, null, ProxyError.InvalidApiKey, protocol);
            return;
        }

        var (body, bodyError) = await RequestBodyReader.ReadAsync(http, _maxBodyBytes);
        if (body is null)
        {
            await RejectAsync(http, requestId, identity, bodyError!, protocol);
            return;
        }

        using (body)
        {
            if (body.Length > InlineWorkLimit)
            {
                await Task.Yield();
            }

            var invalid = MessagesRequestReader.TryRead(body.Span, countTokens: true, out var info);
            if (invalid is not null)
            {
                await RejectAsync(http, requestId, identity, invalid, protocol);
                return;
            }

            // Counted as the request would be counted for its reservation, with the model the client named (a rule's
            // target may tokenize differently, but the client asks about its own request).
            estimator.EstimateMessages(body.Span, info, upstreamModel: null, out var prompt);
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("{\"input_tokens\":" + prompt.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}", http.RequestAborted);
        }
    }

    // The chat steps without commands: an embeddings input is never a #roxy command, and goes upstream as sent.
    private async Task HandleEmbeddingsAsync(HttpContext http, string requestId)
    {
        var identity = await authenticator.AuthenticateAsync(http);
        if (identity is null)
        {
            await RejectAsync(http, requestId, null, ProxyError.InvalidApiKey);
            return;
        }

        var (body, bodyError) = await RequestBodyReader.ReadAsync(http, _maxBodyBytes);
        if (body is null)
        {
            await RejectAsync(http, requestId, identity, bodyError!);
            return;
        }

        using (body)
        {
            if (body.Length > InlineWorkLimit)
            {
                // Off the IO thread, as for chat: a batch of inputs is read and counted in one go.
                await Task.Yield();
            }

            var invalid = EmbeddingsRequestReader.TryRead(body.Span, out var info);
            if (invalid is not null)
            {
                await RejectAsync(http, requestId, identity, invalid);
                return;
            }

            var request = new ProxyRequest(http, requestId, identity, body, info);
            request.Sink = new OpenAiEmbeddingsSink(request);
            await ProxyAndLogAsync(request);
        }
    }

    private Task<ProxyError?> ProxyAsync(ProxyRequest request)
    {
        // The tenant snapshot is nearly always cached: then no state machine of its own for this step.
        var pending = tenants.GetAsync(request.Identity.TenantId);
        return pending.IsCompletedSuccessfully ? RouteAsync(request, pending.Result) : AwaitTenantAsync(request, pending);
    }

    private async Task<ProxyError?> AwaitTenantAsync(ProxyRequest request, ValueTask<TenantSnapshot> pending) =>
        await RouteAsync(request, await pending);

    private Task<ProxyError?> RouteAsync(ProxyRequest request, TenantSnapshot tenant)
    {
        // Likewise the rule: held in memory nearly always, so no grain call and no state machine.
        if (!resolver.TryResolve(tenant, request.Model, out var route, out var notFound))
        {
            return RouteColdAsync(request, tenant);
        }

        return notFound is not null ? Task.FromResult<ProxyError?>(notFound) : DispatchAsync(request, route!, tenant);
    }

    // A rule this frontend has not read yet: one grain call, then the same steps.
    private async Task<ProxyError?> RouteColdAsync(ProxyRequest request, TenantSnapshot tenant)
    {
        var (route, notFound) = await resolver.ResolveColdAsync(tenant, request.Model);
        return notFound ?? await DispatchAsync(request, route!, tenant);
    }

    private Task<ProxyError?> DispatchAsync(ProxyRequest request, ResolvedRoute route, TenantSnapshot tenant)
    {
        request.Route = route;
        if (request.Info is { } chat)
        {
            request.EstimatedTokens = estimator.Estimate(request.Body.Span, chat, route.Targets[0].Model, out var prompt);
            request.PromptEstimate = prompt;
        }
        else if (request.Messages is { } messages)
        {
            request.EstimatedTokens = estimator.EstimateMessages(request.Body.Span, messages, route.Targets[0].Model, out var prompt);
            request.PromptEstimate = prompt;
        }
        else
        {
            var input = TokenEstimator.EstimateEmbeddings(request.Body.Span, request.Embeddings!, route.Targets[0].Model);
            request.EstimatedTokens = input;
            request.PromptEstimate = input;
        }

        var invalid = cache.Plan(request, tenant, route, out var plan);
        if (invalid is not null)
        {
            return Task.FromResult<ProxyError?>(invalid);
        }

        return budgets.Check(request, tenant) switch
        {
            BudgetCheck.Applies => BudgetedAsync(request, tenant, route, plan),
            BudgetCheck.UnlistedToken => UnlistedTokenAsync(request, route, plan),
            _ => plan is null ? failover.RunAsync(request) : CachedAsync(request, plan),
        };
    }

    /// <summary>
    /// A token this frontend's snapshot does not list yet (issued on another frontend a moment ago): its budget is read
    /// from the snapshot fetched again, once, so that it is not skipped until the next poll.
    /// </summary>
    private async Task<ProxyError?> UnlistedTokenAsync(ProxyRequest request, ResolvedRoute route, CachePlan? plan)
    {
        await tenants.ReloadAsync(request.Identity.TenantId);
        var tenant = await tenants.GetAsync(request.Identity.TenantId);
        var check = budgets.Check(request, tenant);
        // Still unlisted (revoked since): the tenant's own budget, if any, holds; a token with no entry has none.
        if (check == BudgetCheck.Applies || (check == BudgetCheck.UnlistedToken && tenant.Budget is { IsEmpty: false }))
        {
            return await BudgetedAsync(request, tenant, route, plan);
        }

        return await (plan is null ? failover.RunAsync(request) : CachedAsync(request, plan));
    }

    /// <summary>
    /// A request under a budget: its worst case is reserved first, so that concurrent requests cannot together spend
    /// past it. Cache hits pass through the budget too (SPEC §7): a spent budget stops a tenant whether or not the
    /// answer is cached, though a hit costs nothing and its hold is released.
    /// </summary>
    private async Task<ProxyError?> BudgetedAsync(ProxyRequest request, TenantSnapshot tenant, ResolvedRoute route, CachePlan? plan)
    {
        if (await budgets.ReserveAsync(request, tenant, route) is { } refused)
        {
            return refused;
        }

        return await (plan is null ? failover.RunAsync(request) : CachedAsync(request, plan));
    }

    /// <summary>
    /// A request the prompt cache serves or learns from: a hit is replayed (no rotation, no upstream call); on a miss
    /// the answer the relay records is stored once it is whole, and a leader that gets none releases its waiters.
    /// </summary>
    private async Task<ProxyError?> CachedAsync(ProxyRequest request, CachePlan plan)
    {
        var lead = false;
        if (plan.Lookup)
        {
            var found = await cache.LookupAsync(plan);
            if (found.Status == CacheLookupStatus.Hit)
            {
                var entry = found.Entry!;
                request.CacheResult = "hit";
                // What the answer cost when it was fetched: the request is charged nothing and counts it as saved.
                request.Answered = new RouteTarget(entry.Provider, entry.Model);
                request.PromptTokens = entry.PromptTokens;
                request.CompletionTokens = entry.CompletionTokens;
                request.CachedTokens = entry.CachedTokens;
                cacheStats.Hit(request.Identity.TenantId, entry.Provider, entry.Model, entry.PromptTokens, entry.CompletionTokens, entry.CachedTokens);
                await CacheReplay.WriteAsync(request, entry);
                return null;
            }

            request.CacheResult = "miss";
            cacheStats.Miss(request.Identity.TenantId);
            // A request that stores nothing (x-roxy-cache-ttl: 0) never leads: its abandon would release the waiters
            // of the request that does.
            lead = found.Status == CacheLookupStatus.Lead && plan.Store;
        }

        if (plan.Store)
        {
            request.Recorder = new CompletionRecorder(plan.MaxEntryBytes);
        }

        ProxyError? error = null;
        try
        {
            error = await failover.RunAsync(request);
        }
        finally
        {
            // Only a complete, successful answer is stored; an error, a cut stream or a client gone stores nothing.
            var entry = error is null && request.Answered is { } answered ? request.Recorder?.Build(answered.Provider, answered.Model) : null;
            if (entry is not null)
            {
                cache.Store(plan, entry);
            }
            else if (lead)
            {
                cache.Abandon(plan);
            }
        }

        return error;
    }
}
