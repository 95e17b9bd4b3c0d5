using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Roxy.Api.Caching;
using Roxy.Api.Configuration;
using Roxy.Api.Errors;
using Roxy.Api.Protocols;
using Roxy.Api.Providers;
using Roxy.Api.Providers.OpenAi;
using Roxy.Api.Routing;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Proxy;

/// <summary>
/// One call to one provider with one key. Stages, top to bottom: (1) send and wait for headers, within the
/// first-token timeout for a stream and the response timeout for a whole JSON answer; (2) a non-success status becomes a result the failover loop acts on; (3) the body is
/// relayed, and the client response is committed only at the first content, so anything earlier can still fail
/// over; (4) after commit, an upstream failure aborts the client connection, never retries. The provider's protocol
/// builds the request and reads the answer; the client's sink writes it, as received when both speak the same
/// protocol, encoded from Roxy's events when not.
/// </summary>
public sealed class UpstreamAttempt(TimeProvider time, ResolvedConfig config, ILogger<UpstreamAttempt> logger)
{
    private const int MaxErrorBody = 64 * 1024;
    private const int MaxCompletionBody = 64 * 1024 * 1024;

    // A full embeddings batch is far larger than any completion: 2048 inputs of 3072 floats as JSON text is about 90 MB.
    private const int MaxEmbeddingsBody = 256 * 1024 * 1024;

    private readonly int _maxEventBytes = config.Raw.Server.MaxSseEventBytes;

    /// <param name="upstreamBody">The request in the provider's protocol, built once per target by the failover loop.</param>
    public async Task<AttemptResult> RunAsync(
        ProxyRequest request, IProviderClient provider, RouteTarget target, ProviderKey key, string secret, PooledBuffer upstreamBody)
    {
        var http = request.Http;
        var settings = provider.Settings;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        // A stream must start within the first-token timeout; a JSON answer arrives only once the whole completion is
        // generated, so it gets the (long) response timeout for headers and body together.
        cts.CancelAfter(request.Stream ? settings.FirstTokenTimeout : settings.ResponseTimeout);

        // (1) Send; the invoker returns at the response headers, nothing is buffered.
        HttpResponseMessage response;
        try
        {
            var clientHeaders = request.Messages is { } messages && provider.Protocol == WireProtocol.AnthropicMessages
                ? new ClientProtocolHeaders(messages.AnthropicVersion, messages.AnthropicBeta)
                : default;
            using var message = provider.CreateRequest(request.Operation, upstreamBody.Memory, secret, request.Stream, clientHeaders);
            response = await provider.Http.SendAsync(message, cts.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
        {
            return Failure(http, ex, target, connecting: true);
        }

        using (response)
        {
            var hints = RateLimitHints.From(response.Headers, time.GetUtcNow());
            var status = (int)response.StatusCode;

            // (2) Errors: read a bounded error body to classify it; keys' errors are never echoed.
            if (status is < 200 or >= 300)
            {
                return Answered(await ErrorAsync(request, provider, response, status, hints, target, cts.Token), status);
            }

            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
                return Answered(
                    request.Stream
                        ? await RelaySseAsync(request, provider, response, stream, target, key, hints, settings.IdleTimeout, cts)
                        : await RelayJsonAsync(request, provider, response, stream, target, key, hints, cts),
                    status);
            }
            catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
            {
                if (http.Response.HasStarted)
                {
                    // (4) Committed: the client already has part of an answer; abort rather than write an error.
                    if (!http.RequestAborted.IsCancellationRequested)
                    {
                        logger.LogWarning("Upstream {Provider} failed mid-response for request {RequestId}: {Error}", target.Provider, request.RequestId, ex.GetType().Name);
                        http.Abort();
                    }

                    // What went out was counted (the relay's usage, or its estimate of what was streamed): the key's
                    // window is corrected to it, not left at the whole reservation. A client that left shows up here
                    // too when its connection failed before the request was marked aborted.
                    return new AttemptResult
                    {
                        Outcome = http.RequestAborted.IsCancellationRequested ? UpstreamOutcome.Cancelled : UpstreamOutcome.Failed,
                        UpstreamStatus = status,
                        Committed = true,
                        Hints = hints,
                        PromptTokens = request.PromptTokens,
                        CompletionTokens = request.CompletionTokens,
                        UsageKnown = true,
                    };
                }

                return Failure(http, ex, target, connecting: false);
            }
        }
    }

    // The status the provider answered with goes into the request's trace (#roxy why), whatever became of the answer.
    private static AttemptResult Answered(AttemptResult result, int status)
    {
        result.UpstreamStatus = status;
        return result;
    }

    private static async Task<AttemptResult> ErrorAsync(
        ProxyRequest request, IProviderClient provider, HttpResponseMessage response, int status, RateLimitHints hints,
        RouteTarget target, CancellationToken ct)
    {
        var body = new PooledBuffer(4096);
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(ct);
            while (body.Length < MaxErrorBody)
            {
                var read = await stream.ReadAsync(body.GetMemory(4096), ct);
                if (read == 0)
                {
                    break;
                }

                body.Advance(read);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
        {
            // A truncated error body still classifies by status.
        }

        var outcome = provider.Classify(status, body.Span);
        if (outcome == UpstreamOutcome.CallerError)
        {
            // Read only on this path: whether the prompt was too long (a rule may fail over on it), and the words to
            // restate the error in for a client that would not understand the provider's shape.
            var described = provider.DescribeCallerError(status, body.Span);
            var contextLength = described.Code == ProxyError.ContextLengthExceededCode;
            if (provider.Protocol != request.Sink.Protocol)
            {
                body.Dispose();
                return new AttemptResult
                {
                    Outcome = outcome,
                    Hints = hints,
                    ChargedNothing = true,
                    Error = described,
                    CallerFault = true,
                    ContextLengthExceeded = contextLength,
                };
            }

            return new AttemptResult
            {
                Outcome = outcome,
                Hints = hints,
                ChargedNothing = true,
                Error = described,
                ContextLengthExceeded = contextLength,
                PassThrough = new PassThrough(status, response.Content.Headers.ContentType?.ToString(), body),
            };
        }

        body.Dispose();
        return new AttemptResult
        {
            Outcome = outcome,
            Error = ProxyError.ForUpstreamStatus(outcome, target.Provider, status, hints.RetryAfter ?? hints.ResetAfter),
            Hints = hints,
            // An error status is the provider declining the request: no tokens were generated.
            ChargedNothing = true,
            SkipProvider = outcome == UpstreamOutcome.ProviderOverloaded,
        };
    }

    private static AttemptResult Failure(HttpContext http, Exception ex, RouteTarget target, bool connecting)
    {
        if (http.RequestAborted.IsCancellationRequested)
        {
            return new AttemptResult { Outcome = UpstreamOutcome.Cancelled };
        }

        var timedOut = ex is OperationCanceledException || ex.InnerException is TimeoutException;
        // Only a request that never reached the provider certainly cost nothing; one that timed out or broke after
        // being sent may have been processed and billed, so its reservation stays as estimated.
        var neverSent = connecting && ex is HttpRequestException
        {
            HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError,
        };
        var error = timedOut ? ProxyError.UpstreamTimeout(target.Provider) : ProxyError.UpstreamUnreachable(target.Provider, connecting);
        return new AttemptResult { Outcome = UpstreamOutcome.Failed, Error = error, SkipProvider = connecting, ChargedNothing = neverSent };
    }

    // (3a) Non-streaming: the completion is small and must be whole before the client can use it; read it into a
    // pooled buffer (never a string), let the provider's protocol check it and read the usage, then commit and write
    // it in one go: as received for a client of the same protocol, re-encoded for another.
    private static async Task<AttemptResult> RelayJsonAsync(
        ProxyRequest request, IProviderClient provider, HttpResponseMessage response, Stream stream, RouteTarget target,
        ProviderKey key, RateLimitHints hints, CancellationTokenSource cts)
    {
        var length = response.Content.Headers.ContentLength;
        var limit = request.Operation == UpstreamOperation.Embeddings ? MaxEmbeddingsBody : MaxCompletionBody;
        using var body = PooledBuffer.ForDeclaredLength(length, 8192);
        while (true)
        {
            var read = await stream.ReadAsync(body.GetMemory(8192), cts.Token);
            if (read == 0)
            {
                break;
            }

            body.Advance(read);
            if (body.Length > limit)
            {
                throw new IOException("Upstream answer exceeds the size limit.");
            }
        }

        var sink = request.Sink;
        var recorder = request.Recorder;
        var answer = provider.DecodeAnswer(body.Span, sink.Protocol, keepCompletion: recorder is not null);
        if (!answer.WellFormed)
        {
            // Nothing is committed yet: a provider answering 200 with something that is not a completion is a broken
            // node, and another key or target may still answer properly.
            return new AttemptResult
            {
                Outcome = UpstreamOutcome.Failed,
                Error = ProxyError.UpstreamMalformed(target.Provider, "answered with a body that is not a JSON completion"),
                Hints = hints,
            };
        }

        if (recorder is not null)
        {
            if (answer.Completion is { } kept)
            {
                recorder.Record(kept);
            }
            else
            {
                recorder.Reset();
            }
        }

        if (answer.UsageKnown)
        {
            request.PromptTokens = answer.Usage.PromptTokens;
            request.CompletionTokens = answer.Usage.CompletionTokens;
            request.CachedTokens = answer.Usage.CachedTokens;
        }
        else
        {
            // A provider that reports no usage still bills: charged what was reserved (the prompt as estimated, the whole
            // completion budget), which errs high, never nothing.
            request.PromptTokens = request.PromptEstimate;
            request.CompletionTokens = Math.Max(0, request.EstimatedTokens - request.PromptEstimate);
            request.CachedTokens = 0;
        }

        sink.Commit(response, target, key.Id, stream: false);
        request.FirstByteAt = Stopwatch.GetTimestamp();
        // The cache may have asked for the completion of an answer in the client's own protocol: that one still goes
        // out as received.
        if (provider.Protocol != sink.Protocol && answer.Completion is { } completion)
        {
            await sink.WriteCompletionAsync(completion, request.Http.RequestAborted);
        }
        else
        {
            await sink.WriteBodyAsync(body.Memory, request.Http.RequestAborted);
        }

        return new AttemptResult
        {
            Outcome = UpstreamOutcome.Success,
            Committed = true,
            Hints = hints,
            PromptTokens = request.PromptTokens,
            CompletionTokens = request.CompletionTokens,
            UsageKnown = answer.UsageKnown,
        };
    }

    // (3b) Streaming: event by event, each written as it arrives and flushed with the others of the same upstream
    // read. Events before the first content (comments, an early error) are held back so an error can still fail over.
    private async Task<AttemptResult> RelaySseAsync(
        ProxyRequest request, IProviderClient provider, HttpResponseMessage response, Stream stream, RouteTarget target,
        ProviderKey key, RateLimitHints hints, TimeSpan idleTimeout, CancellationTokenSource cts)
    {
        var http = request.Http;
        var sink = request.Sink;
        var passThrough = provider.Protocol == sink.Protocol;
        var decoder = provider.CreateStreamDecoder();
        // Decoded events of one upstream event; none when the client speaks the provider's protocol.
        var events = passThrough ? null : new List<ChatEvent>();
        // The prompt cache records what is relayed. A passed-through stream is decoded a second time, by a decoder of
        // its own: the relay's pass-through decoder classifies events for passing bytes on (an Anthropic
        // content_block_start is an opening to hold back there, nothing in full mode), and caching must not change that.
        var recorder = request.Recorder;
        recorder?.Reset();
        var recordDecoder = passThrough && recorder is not null ? provider.CreateStreamDecoder() : null;
        var recordEvents = recordDecoder is null ? null : new List<ChatEvent>();
        PooledBuffer? opening = null;
        StreamKeepAlive? keepAlive = null;
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
        var committed = false;
        var contentEvents = 0;
        var sawDone = false;
        var sawFinish = false;
        var failedMidStream = false;
        var pending = false;
        var scan = default(SseEvent.Scan);
        byte[]? scratch = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cts.Token);
                if (keepAlive is not null)
                {
                    await keepAlive.EnterAsync();
                }

                var buffer = result.Buffer;
                while (SseEvent.TryRead(ref buffer, ref scan, out var evt))
                {
                    // Only a whole event counts as the upstream being alive: bytes trickled into one that never ends
                    // must not hold the request past the idle timeout.
                    if (committed)
                    {
                        cts.CancelAfter(idleTimeout);
                    }

                    var span = Contiguous(evt, ref scratch);
                    events?.Clear();

                    var kind = decoder.Decode(span, events);
                    if (decoder.UsageKnown)
                    {
                        request.PromptTokens = decoder.Usage.PromptTokens;
                        request.CompletionTokens = decoder.Usage.CompletionTokens;
                        request.CachedTokens = decoder.Usage.CachedTokens;
                    }

                    if (sawDone)
                    {
                        // Whatever a provider sends after its end marker is not part of the answer.
                        continue;
                    }

                    if (recorder is not null)
                    {
                        Record(recorder, recordDecoder, span, events ?? recordEvents!);
                    }

                    if (!committed)
                    {
                        if (kind == UpstreamEventKind.Error)
                        {
                            reader.AdvanceTo(buffer.Start, buffer.End);
                            // An early overload or rate limit says what a status would have (Anthropic's early
                            // overloaded_error is a 529 in all but name): the same backoff and the same answer.
                            var outcome = provider.ClassifyStreamError(span);
                            return new AttemptResult
                            {
                                Outcome = outcome,
                                Error = outcome == UpstreamOutcome.Failed
                                    ? ProxyError.UpstreamStreamError(target.Provider)
                                    : ProxyError.ForUpstreamStatus(outcome, target.Provider, StatusCodes.Status502BadGateway, hints.RetryAfter ?? hints.ResetAfter),
                                Hints = hints,
                                ChargedNothing = true,
                                SkipProvider = outcome == UpstreamOutcome.ProviderOverloaded,
                            };
                        }

                        if (kind == UpstreamEventKind.Opening && passThrough)
                        {
                            if (!Hold(ref opening, evt))
                            {
                                reader.AdvanceTo(buffer.Start, buffer.End);
                                return new AttemptResult
                                {
                                    Outcome = UpstreamOutcome.Failed,
                                    Error = ProxyError.UpstreamMalformed(target.Provider, $"opened its stream with more than {MaxOpeningBytes} bytes before any content"),
                                    Hints = hints,
                                };
                            }

                            continue;
                        }

                        if (kind is UpstreamEventKind.Empty or UpstreamEventKind.Opening)
                        {
                            continue;
                        }

                        // Passed through, events are not parsed: the first one is checked before it commits a 200
                        // (a translated stream's decoder already refuses what is not JSON).
                        if (passThrough && kind is (UpstreamEventKind.Content or UpstreamEventKind.UsageOnly) && !SseEvent.DataIsJson(span))
                        {
                            reader.AdvanceTo(buffer.Start, buffer.End);
                            return new AttemptResult
                            {
                                Outcome = UpstreamOutcome.Failed,
                                Error = ProxyError.UpstreamMalformed(target.Provider, "sent a stream whose first event is not JSON"),
                                Hints = hints,
                            };
                        }

                        sink.Commit(response, target, key.Id, stream: true);
                        request.FirstByteAt = Stopwatch.GetTimestamp();
                        committed = true;
                        cts.CancelAfter(idleTimeout);
                        if (opening is not null)
                        {
                            sink.WriteRaw(new ReadOnlySequence<byte>(opening.Memory));
                        }

                        // A provider of the client's own protocol sends its own keep-alives; a translated stream gets Roxy's.
                        keepAlive = passThrough ? null : StreamKeepAlive.Start(sink, time, http.RequestAborted);
                    }

                    switch (kind)
                    {
                        case UpstreamEventKind.Content:
                            contentEvents++;
                            break;
                        case UpstreamEventKind.Done:
                            sawDone = true;
                            break;
                        case UpstreamEventKind.Error:
                            // After commit an error cannot fail over: the client is told, never handed a fake stop.
                            failedMidStream = true;
                            break;
                    }

                    if (passThrough)
                    {
                        // The usage chunk was Roxy's own request; a client that did not ask never sees it.
                        if (kind != UpstreamEventKind.UsageOnly || request.Info?.ClientWantsUsage != false)
                        {
                            sink.WriteRaw(evt);
                            pending = true;
                        }
                    }
                    else
                    {
                        foreach (var chatEvent in events!)
                        {
                            sink.WriteEvent(chatEvent);
                            sawFinish |= chatEvent.Kind == ChatEventKind.Finish;
                            pending = true;
                        }

                        if (kind == UpstreamEventKind.Done)
                        {
                            sink.Complete();
                            pending = true;
                        }
                    }

                    if (failedMidStream)
                    {
                        break;
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);

                // What is left is one unfinished event. An upstream that never ends it must not grow the heap (nor,
                // by trickling bytes, keep resetting the idle timeout): past the cap the stream is over.
                if (buffer.Length > _maxEventBytes)
                {
                    logger.LogWarning(
                        "Upstream {Provider} sent an SSE event over {Limit} bytes for request {RequestId}; the stream is ended",
                        target.Provider, _maxEventBytes, request.RequestId);
                    if (!committed)
                    {
                        return new AttemptResult
                        {
                            Outcome = UpstreamOutcome.Failed,
                            Error = ProxyError.UpstreamMalformed(target.Provider, $"sent a stream event larger than {_maxEventBytes} bytes"),
                            Hints = hints,
                        };
                    }

                    throw new IOException("Upstream SSE event exceeds the size limit.");
                }

                // One flush for the events that arrived together: each still goes out the moment it arrives,
                // without a send (and a wake-up of the client) per event of a burst.
                var wrote = pending;
                if (pending)
                {
                    pending = false;
                    var flush = await sink.FlushAsync(http.RequestAborted);
                    if (flush.IsCanceled || flush.IsCompleted)
                    {
                        throw new OperationCanceledException(http.RequestAborted);
                    }
                }

                // Upstream events the client does not see (a reasoning model's thinking) are no keep-alive to it.
                keepAlive?.Exit(wrote);

                // Read to the end even after the end marker, so the connection goes back to the pool.
                if (result.IsCompleted || failedMidStream)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // Client gone: the upstream call is cancelled with it. What was streamed is what it cost: the prompt
            // (as estimated, unless the provider already said) and about a token per content chunk, not the whole
            // completion budget reserved up front.
            CountStreamed(request, decoder, contentEvents);
            return new AttemptResult
            {
                Outcome = UpstreamOutcome.Cancelled,
                Committed = committed,
                Hints = hints,
                PromptTokens = request.PromptTokens,
                CompletionTokens = request.CompletionTokens,
                UsageKnown = committed || decoder.UsageKnown,
            };
        }
        catch (Exception ex) when (committed && ex is OperationCanceledException or HttpRequestException or IOException)
        {
            // Cut off after commit (RunAsync aborts the client): charged what was streamed, as for a client gone.
            CountStreamed(request, decoder, contentEvents);
            throw;
        }
        finally
        {
            if (keepAlive is not null)
            {
                await keepAlive.DisposeAsync();
            }

            opening?.Dispose();
            await reader.CompleteAsync();
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }

        if (!committed)
        {
            return new AttemptResult
            {
                Outcome = UpstreamOutcome.Failed,
                Error = ProxyError.UpstreamEmpty(target.Provider),
                Hints = hints,
            };
        }

        CountStreamed(request, decoder, contentEvents);
        if (!passThrough && !sawDone && sawFinish && !failedMidStream)
        {
            // The answer said how it ended and then the provider closed without its end marker (some servers never send
            // [DONE]): the answer is whole, so the client's stream is closed as usual.
            sink.Complete();
            await sink.FlushAsync(http.RequestAborted);
            sawDone = true;
        }

        if (!sawDone && !failedMidStream && (!passThrough || sink.ClientsRaiseOnErrorEvent))
        {
            // A stream that stopped before its end would otherwise close cleanly, and an SDK would take the partial text
            // for the whole answer: the client is told, as for an error event. (A passed-through OpenAI stream is left
            // as it came: OpenAI clients know a stream without [DONE] is cut short.)
            sink.WriteEvent(ChatEvent.Failed("server_error", $"Provider '{target.Provider}' ended the stream before the answer was complete."));
            await sink.FlushAsync(http.RequestAborted);
            failedMidStream = true;
        }

        if (failedMidStream)
        {
            logger.LogWarning("Upstream {Provider} sent an error mid-stream for request {RequestId}", target.Provider, request.RequestId);
            // The error event went out; a response that then ended cleanly would still read as a whole answer to
            // SDKs that ignore error events (the OpenAI .NET one does). A cut connection is an error to every client,
            // even one that the cut keeps from reading the event. A protocol whose clients raise on the event ends
            // the stream after it, as its own API does: a reset could discard the event before the client read it.
            if (!sink.ClientsRaiseOnErrorEvent)
            {
                http.Abort();
            }
        }

        if (sawDone && !failedMidStream)
        {
            // Only a stream that ended whole is an answer to keep: not one cut off, nor one that ended in an error.
            recorder?.Complete();
        }

        return new AttemptResult
        {
            Outcome = !failedMidStream && (sawDone || decoder.UsageKnown) ? UpstreamOutcome.Success : UpstreamOutcome.Failed,
            Committed = true,
            Hints = hints,
            PromptTokens = request.PromptTokens,
            CompletionTokens = request.CompletionTokens,
            UsageKnown = decoder.UsageKnown,
        };
    }

    // Opening events are small (message_start, content_block_start): one that is not, or a stream of them without
    // end, is not kept, so an upstream cannot grow the heap before it commits.
    private const int MaxOpeningBytes = 64 * 1024;

    private static bool Hold(ref PooledBuffer? opening, in ReadOnlySequence<byte> evt)
    {
        opening ??= new PooledBuffer(1024);
        if (opening.Length + evt.Length > MaxOpeningBytes)
        {
            return false;
        }

        foreach (var segment in evt)
        {
            opening.Write(segment.Span);
        }

        return true;
    }

    // Every event the relay acts on, before its commit too (an OpenAI first chunk is the start; what Anthropic's
    // message_start said comes with the first content), so the recorder sees the whole answer in order.
    private static void Record(CompletionRecorder recorder, IStreamDecoder? recordDecoder, ReadOnlySpan<byte> sseEvent, List<ChatEvent> events)
    {
        if (recordDecoder is not null)
        {
            events.Clear();
            recordDecoder.Decode(sseEvent, events);
        }

        foreach (var chatEvent in events)
        {
            recorder.Add(chatEvent);
        }
    }

    // The provider's usage when it said; else the prompt as estimated (it was read and billed, whatever came back) and
    // about a token per content event, a provider that never reports usage included.
    private static void CountStreamed(ProxyRequest request, IStreamDecoder decoder, int contentEvents)
    {
        if (decoder.UsageKnown)
        {
            request.PromptTokens = decoder.Usage.PromptTokens;
            request.CompletionTokens = decoder.Usage.CompletionTokens;
            request.CachedTokens = decoder.Usage.CachedTokens;
        }
        else
        {
            request.PromptTokens = request.PromptEstimate;
            request.CompletionTokens = contentEvents;
        }
    }

    private static ReadOnlySpan<byte> Contiguous(ReadOnlySequence<byte> evt, ref byte[]? scratch)
    {
        if (evt.IsSingleSegment)
        {
            return evt.FirstSpan;
        }

        var length = (int)evt.Length;
        if (scratch is null || scratch.Length < length)
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }

            scratch = ArrayPool<byte>.Shared.Rent(length);
        }

        evt.CopyTo(scratch);
        return scratch.AsSpan(0, length);
    }
}
