using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Roxy.FakeUpstream;

/// <summary>
/// A fake OpenAI-compatible provider on a real loopback Kestrel socket.
/// Routes: POST /v1/chat/completions (stream true/false), POST /v1/embeddings (checked as strictly as OpenAI, see
/// <see cref="FakeEmbeddings"/>), GET /v1/models.
/// Behaviour can be scripted at run time (thread-safe): a server-wide fault, then per-key behaviours, then a FIFO queue, plus
/// optional per-key RPM enforcement.
/// </summary>
public sealed class FakeOpenAiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly FakeUpstreamOptions _options;
    private readonly StaticBytes _static;
    private readonly TimeProvider _time;
    private readonly long _minuteTicks;

    private readonly ConcurrentQueue<FakeResponse> _queue = new();
    private readonly ConcurrentDictionary<string, FakeResponse> _keyBehaviors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KeyLimiter> _keyLimits = new(StringComparer.Ordinal);

    private readonly Lock _recordLock = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly Dictionary<string, List<long>> _arrivalsByKey = new(StringComparer.Ordinal);

    private FakeResponse? _fault;
    private long _idCounter;
    private byte[] _lastModel = "gpt-4o-mini"u8.ToArray();

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _threadBuffer;

    private FakeOpenAiServer(WebApplication app, FakeUpstreamOptions options)
    {
        _app = app;
        _options = options;
        _time = options.TimeProvider;
        _minuteTicks = _time.TimestampFrequency * 60;
        _static = new StaticBytes(options);
        _idCounter = Random.Shared.NextInt64(1L << 40, 1L << 44);
        BaseUrl = new Uri("http://127.0.0.1/v1");
    }

    /// <summary>Base URL including /v1, e.g. http://127.0.0.1:PORT/v1 .</summary>
    public Uri BaseUrl { get; private set; }

    /// <summary>The bound port.</summary>
    public int Port => BaseUrl.Port;

    /// <summary>Whether requests are being recorded.</summary>
    public bool RecordRequests => _options.RecordRequests;

    /// <summary>Snapshot of recorded requests, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_recordLock)
            {
                return _requests.ToArray();
            }
        }
    }

    /// <summary>Number of scripted responses still queued.</summary>
    public int PendingScriptedResponses => _queue.Count;

    /// <summary>Starts the server on http://127.0.0.1:{options.Port or a free port}.</summary>
    public static async Task<FakeOpenAiServer> StartAsync(FakeUpstreamOptions? options = null)
    {
        options ??= new FakeUpstreamOptions();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(FakeOpenAiServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (options.ConsoleLogging)
        {
            builder.Logging.AddSimpleConsole();
        }
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MinResponseDataRate = null;
            k.Limits.MinRequestBodyDataRate = null;
            k.Listen(IPAddress.Loopback, options.Port);
        });

        var app = builder.Build();
        var server = new FakeOpenAiServer(app, options);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var port = new Uri(address).Port;
        server.BaseUrl = new Uri($"http://127.0.0.1:{port}/v1");
        return server;
    }

    // ------------------------------------------------------------------ scripting API

    /// <summary>Queue a scripted response; each request without a per-key behaviour consumes one (FIFO).</summary>
    public void Enqueue(FakeResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        _queue.Enqueue(response);
    }

    /// <summary>Every request with this bearer key gets <paramref name="response"/> (takes precedence over the queue). Null clears.</summary>
    public void SetKeyBehavior(string apiKey, FakeResponse? response)
    {
        ArgumentNullException.ThrowIfNull(apiKey);
        if (response is null)
        {
            _keyBehaviors.TryRemove(apiKey, out _);
        }
        else
        {
            _keyBehaviors[apiKey] = response;
        }
    }

    /// <summary>
    /// Every request gets <paramref name="response"/>, ahead of per-key behaviours and the queue (per-key limits still
    /// apply first): the whole upstream failing (<see cref="FakeResponse.Hang"/>, <see cref="FakeResponse.ResetMidAnswer"/>,
    /// <see cref="FakeResponse.GarbageAnswer"/>) until cleared with null.
    /// </summary>
    public void SetFault(FakeResponse? response) => Volatile.Write(ref _fault, response);

    /// <summary>Enforce at most <paramref name="maxRpm"/> accepted requests per sliding 60 s window for this key; excess gets 429 rate_limit_exceeded with Retry-After. maxRpm &lt;= 0 removes the limit.</summary>
    public void SetKeyLimit(string apiKey, int maxRpm)
    {
        ArgumentNullException.ThrowIfNull(apiKey);
        if (maxRpm <= 0)
        {
            _keyLimits.TryRemove(apiKey, out _);
        }
        else
        {
            _keyLimits[apiKey] = new KeyLimiter(maxRpm);
        }
    }

    /// <summary>Number of recorded requests that used this bearer key (requires recording).</summary>
    public int CountFor(string apiKey)
    {
        lock (_recordLock)
        {
            return _arrivalsByKey.TryGetValue(apiKey, out var list) ? list.Count : 0;
        }
    }

    /// <summary>Largest number of requests (any outcome) that arrived with this key within any sliding window of the given length (requires recording).</summary>
    public int MaxRequestsInAnyWindow(string apiKey, TimeSpan window) => MaxRequestsInAnyWindow(apiKey, window, long.MinValue, long.MaxValue);

    /// <summary>
    /// As <see cref="MaxRequestsInAnyWindow(string, TimeSpan)"/>, counting only arrivals between two timestamps of the
    /// server's <see cref="FakeUpstreamOptions.TimeProvider"/> (inclusive).
    /// </summary>
    public int MaxRequestsInAnyWindow(string apiKey, TimeSpan window, long fromTimestamp, long toTimestamp)
    {
        long[] arrivals;
        lock (_recordLock)
        {
            if (!_arrivalsByKey.TryGetValue(apiKey, out var list))
            {
                return 0;
            }
            arrivals = [.. list.Where(t => t >= fromTimestamp && t <= toTimestamp)];
        }
        Array.Sort(arrivals);
        var windowTicks = (long)(window.TotalSeconds * _time.TimestampFrequency);
        var best = 0;
        var lo = 0;
        for (var hi = 0; hi < arrivals.Length; hi++)
        {
            while (arrivals[hi] - arrivals[lo] >= windowTicks)
            {
                lo++;
            }
            best = Math.Max(best, hi - lo + 1);
        }
        return best;
    }

    /// <summary>Clears recorded requests, the fault, the scripted queue, per-key behaviours and per-key limits.</summary>
    public void Reset()
    {
        _fault = null;
        _queue.Clear();
        _keyBehaviors.Clear();
        _keyLimits.Clear();
        lock (_recordLock)
        {
            _requests.Clear();
            _arrivalsByKey.Clear();
        }
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(cts.Token).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------------ request handling

    private enum Route { None, Chat, Embeddings, Models }

    private async Task HandleAsync(HttpContext ctx)
    {
        var request = ctx.Request;
        var path = request.Path.Value ?? "";
        var route = Route.None;
        if (HttpMethods.IsPost(request.Method))
        {
            if (path.Equals("/v1/chat/completions", StringComparison.Ordinal))
            {
                route = Route.Chat;
            }
            else if (path.Equals("/v1/embeddings", StringComparison.Ordinal))
            {
                route = Route.Embeddings;
            }
        }
        else if (HttpMethods.IsGet(request.Method) && path.Equals("/v1/models", StringComparison.Ordinal))
        {
            route = Route.Models;
        }

        var arrival = _time.GetTimestamp();
        var record = _options.RecordRequests;
        string? apiKey = record || !_keyBehaviors.IsEmpty || !_keyLimits.IsEmpty ? BearerKey(request.Headers.Authorization) : null;

        // Read the whole body without copying (PipeReader keeps it buffered until AdvanceTo).
        var reader = request.BodyReader;
        ReadResult read;
        while (true)
        {
            read = await reader.ReadAsync(ctx.RequestAborted).ConfigureAwait(false);
            if (read.IsCompleted || read.IsCanceled)
            {
                break;
            }
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }

        var body = read.Buffer;
        var bodyLength = body.Length;
        ParsedRequest parsed = default;
        FakeError? parseError = null;
        List<string>? toolResults = null;
        FakeError? embeddingsError = null;
        FakeEmbeddings? embeddings = null;
        try
        {
            if (record)
            {
                Record(ctx, path, body, apiKey, arrival);
            }
            if (route == Route.Chat)
            {
                parseError = Parse(body, out parsed);
                if (parseError is null && parsed.Scenario is not null && parsed.Conversation.TrailingToolResults is { } results)
                {
                    toolResults = OpenAiChatRules.ToolResultTexts(body, results);
                }
            }
            else if (route == Route.Embeddings)
            {
                embeddingsError = FakeEmbeddings.TryParse(body, out embeddings);
            }
        }
        finally
        {
            reader.AdvanceTo(body.End);
        }

        if (route == Route.None)
        {
            await WriteErrorAsync(ctx, 404, "invalid_request_error", "unknown_url", $"Invalid URL ({request.Method} {path})", null).ConfigureAwait(false);
            return;
        }

        // Behaviour selection: rate limiter → server-wide fault → per-key behaviour → scripted queue → normal.
        var behavior = Volatile.Read(ref _fault);
        KeyLimiter? limiter = null;
        int remaining = -1;
        if (apiKey is not null && _keyLimits.TryGetValue(apiKey, out limiter))
        {
            if (!limiter.TryAcquire(arrival, _minuteTicks, _time.TimestampFrequency, out var retryAfter, out remaining))
            {
                await WriteRateLimitedAsync(ctx, limiter.MaxRpm, retryAfter).ConfigureAwait(false);
                return;
            }
        }
        if (behavior is null && apiKey is not null && !_keyBehaviors.IsEmpty)
        {
            _keyBehaviors.TryGetValue(apiKey, out behavior);
        }
        if (behavior is null && !_queue.IsEmpty)
        {
            _queue.TryDequeue(out behavior);
        }

        try
        {
            if (behavior is not null && behavior.DelayBeforeHeaders > TimeSpan.Zero)
            {
                await Task.Delay(behavior.DelayBeforeHeaders, ctx.RequestAborted).ConfigureAwait(false);
            }
            if (behavior is { AbortWithoutResponse: true })
            {
                ctx.Abort();
                return;
            }
            if (behavior is { Garbage: true })
            {
                await WriteGarbageAsync(ctx, parsed.Stream).ConfigureAwait(false);
                return;
            }
            if (behavior is not null && (behavior.StatusCode < 200 || behavior.StatusCode > 299))
            {
                await WriteErrorAsync(ctx, behavior.StatusCode, behavior.ErrorType, behavior.ErrorCode, behavior.ErrorMessage, behavior.Headers).ConfigureAwait(false);
                return;
            }
            if (parseError is not null)
            {
                await WriteErrorAsync(ctx, parseError.Status, parseError.Type, parseError.Code, parseError.Message, null, parseError.Param).ConfigureAwait(false);
                return;
            }

            if (parsed.Scenario is { } failing && OpenAiScenarioAnswer.ErrorOf(failing, parsed.Stream) is { } scenarioError)
            {
                await WriteErrorAsync(ctx, scenarioError.StatusCode, scenarioError.ErrorType, scenarioError.ErrorCode, scenarioError.ErrorMessage, scenarioError.Headers).ConfigureAwait(false);
                return;
            }
            if (embeddingsError is not null)
            {
                await WriteErrorAsync(ctx, embeddingsError.Status, embeddingsError.Type, embeddingsError.Code, embeddingsError.Message, null, embeddingsError.Param).ConfigureAwait(false);
                return;
            }

            var headers = ctx.Response.Headers;
            headers["x-request-id"] = "req_" + Interlocked.Increment(ref _idCounter).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
            headers["openai-organization"] = "fake-org";
            headers["openai-version"] = "2020-10-01";
            headers["openai-processing-ms"] = "1";
            if (limiter is not null)
            {
                headers["x-ratelimit-limit-requests"] = limiter.MaxRpmText;
                headers["x-ratelimit-remaining-requests"] = remaining.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                headers["x-ratelimit-limit-requests"] = "10000";
                headers["x-ratelimit-remaining-requests"] = "9999";
            }
            headers["x-ratelimit-reset-requests"] = "6ms";
            if (behavior?.Headers is { } extra)
            {
                foreach (var (k, v) in extra)
                {
                    headers[k] = v;
                }
            }

            switch (route)
            {
                case Route.Models:
                    await WriteBytesAsync(ctx, 200, _static.Models).ConfigureAwait(false);
                    break;
                case Route.Embeddings:
                    await WriteEmbeddingsAsync(ctx, embeddings!).ConfigureAwait(false);
                    break;
                case Route.Chat when parsed.Scenario is { } scenario:
                    await WriteScenarioAsync(ctx, parsed, scenario, bodyLength, toolResults, behavior).ConfigureAwait(false);
                    break;
                case Route.Chat when parsed.Stream:
                    await WriteStreamAsync(ctx, parsed, bodyLength, behavior).ConfigureAwait(false);
                    break;
                default:
                    await WriteCompletionAsync(ctx, parsed, bodyLength, behavior).ConfigureAwait(false);
                    break;
            }
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // Client went away.
        }
    }

    private static string? BearerKey(StringValues authorization)
    {
        var value = authorization.Count > 0 ? authorization[0] : null;
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        return value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value[7..].Trim() : value.Trim();
    }

    private void Record(HttpContext ctx, string path, ReadOnlySequence<byte> body, string? apiKey, long arrival)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in ctx.Request.Headers)
        {
            headers[k] = v.ToString();
        }
        var arrivedAt = _time.GetUtcNow();
        var entry = new RecordedRequest(ctx.Request.Method, path, headers, Encoding.UTF8.GetString(body), apiKey, arrivedAt);
        lock (_recordLock)
        {
            _requests.Add(entry);
            if (apiKey is not null)
            {
                if (!_arrivalsByKey.TryGetValue(apiKey, out var list))
                {
                    _arrivalsByKey[apiKey] = list = [];
                }
                list.Add(arrival);
            }
        }
    }

    private struct ParsedRequest
    {
        public byte[] Model;
        public bool Stream;
        public bool IncludeUsage;
        public bool StreamOptions;

        /// <summary>Set for a <c>gpt-fake-{scenario}</c> model other than the stock text; null keeps the fast path.</summary>
        public OpenAiScenario? Scenario;

        public OpenAiChatRules.Conversation Conversation;
    }

    private const string ScenarioModelPrefix = "gpt-fake-";

    /// <summary>The model name that selects <paramref name="scenario"/>: <c>gpt-fake-text-then-tool</c>, ….</summary>
    public static string ModelFor(OpenAiScenario scenario) => ScenarioModelPrefix + ScenarioNames.Kebab(scenario);

    // The chat body, checked as OpenAI checks it (OpenAiChatRules) in one forward pass; embeddings by FakeEmbeddings.
    private FakeError? Parse(ReadOnlySequence<byte> body, out ParsedRequest parsed)
    {
        parsed = default;
        if (body.IsEmpty)
        {
            return Unparsable();
        }
        try
        {
            var error = ParseObject(body, ref parsed);
            if (error is null && parsed.Model is not null && parsed.Model.AsSpan().StartsWith("gpt-fake-"u8))
            {
                var scenario = ScenarioNames.Parse(Encoding.UTF8.GetString(parsed.Model.AsSpan(ScenarioModelPrefix.Length)), OpenAiScenario.Text);
                parsed.Scenario = scenario == OpenAiScenario.Text ? null : scenario;
            }

            return error;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not valid UTF-8, met when a rule reads it.
            return Unparsable();
        }
    }

    private static FakeError Unparsable() => new(400, "invalid_request_error", null,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)");

    private FakeError? ParseObject(ReadOnlySequence<byte> body, ref ParsedRequest parsed)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return new FakeError(400, "invalid_request_error", null, "Invalid request body: expected a JSON object.");
        }
        var sawMessages = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            FakeError? error = null;
            if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    parsed.Model = ModelBytes(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("stream"u8))
            {
                reader.Read();
                parsed.Stream = reader.TokenType == JsonTokenType.True;
            }
            else if (reader.ValueTextEquals("stream_options"u8))
            {
                reader.Read();
                parsed.StreamOptions = reader.TokenType != JsonTokenType.Null;
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isUsage = reader.ValueTextEquals("include_usage"u8);
                        reader.Read();
                        if (isUsage)
                        {
                            parsed.IncludeUsage = reader.TokenType == JsonTokenType.True;
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("messages"u8))
            {
                sawMessages = true;
                reader.Read();
                error = OpenAiChatRules.Messages(ref reader, out parsed.Conversation);
            }
            else if (reader.ValueTextEquals("tools"u8))
            {
                reader.Read();
                error = OpenAiChatRules.Tools(ref reader);
            }
            else if (reader.ValueTextEquals("tool_choice"u8))
            {
                reader.Read();
                error = OpenAiChatRules.ToolChoice(ref reader);
            }
            else if (reader.ValueTextEquals("stop"u8))
            {
                reader.Read();
                error = OpenAiChatRules.Stop(ref reader);
            }
            else if (OpenAiChatRules.IsAnthropicOnly(ref reader))
            {
                error = OpenAiChatRules.Unrecognized(reader.GetString()!);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }

            if (error is not null)
            {
                return error;
            }
        }
        if (parsed.Model is null)
        {
            return new FakeError(400, "invalid_request_error", null, "you must provide a model parameter");
        }
        if (!sawMessages)
        {
            return new FakeError(400, "invalid_request_error", null, "Missing required parameter: 'messages'.", "messages");
        }
        if (parsed.StreamOptions && !parsed.Stream)
        {
            return new FakeError(400, "invalid_request_error", null, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
        }
        return null;
    }

    // Raw (unescaped) JSON string bytes can be echoed verbatim; cache the last model to avoid a per-request allocation.
    private byte[] ModelBytes(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped)
        {
            return ContentPlan.Escape(reader.GetString() ?? "");
        }
        var last = _lastModel;
        if (!reader.HasValueSequence)
        {
            if (reader.ValueSpan.SequenceEqual(last))
            {
                return last;
            }
            return _lastModel = reader.ValueSpan.ToArray();
        }
        return _lastModel = reader.ValueSequence.ToArray();
    }

    private ContentPlan PlanFor(FakeResponse? behavior)
    {
        if (behavior is null || (behavior.Content is null && behavior.ContentChunks is null))
        {
            return _static.DefaultPlan;
        }
        return behavior.CachedPlan ??= behavior.Content is not null
            ? ContentPlan.FromText(behavior.Content)
            : ContentPlan.Stock(behavior.ContentChunks ?? _options.ContentChunks);
    }

    private static ArrayBufferWriter<byte> Buffer()
    {
        var b = _threadBuffer ??= new ArrayBufferWriter<byte>(4096);
        b.ResetWrittenCount();
        return b;
    }

    private static async Task WriteBytesAsync(HttpContext ctx, int status, byte[] bytes)
    {
        var response = ctx.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, ctx.RequestAborted).ConfigureAwait(false);
    }

    // Builds into the thread-static buffer synchronously, then copies into the pipe before the first await.
    private static ValueTask<FlushResult> SendBuffered(HttpContext ctx, ArrayBufferWriter<byte> buffer)
    {
        var response = ctx.Response;
        response.ContentLength = buffer.WrittenCount;
        response.BodyWriter.Write(buffer.WrittenSpan);
        return response.BodyWriter.FlushAsync(ctx.RequestAborted);
    }

    private static async Task WriteErrorAsync(HttpContext ctx, int status, string? type, string? code, string? message, IReadOnlyDictionary<string, string>? extraHeaders, string? param = null)
    {
        var response = ctx.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers["x-request-id"] = "req_" + Guid.NewGuid().ToString("N");
        response.Headers["openai-organization"] = "fake-org";
        if (extraHeaders is not null)
        {
            foreach (var (k, v) in extraHeaders)
            {
                response.Headers[k] = v;
            }
        }
        var buffer = Buffer();
        W.ErrorObject(buffer, message, type, code, param);
        await SendBuffered(ctx, buffer).ConfigureAwait(false);
    }

    private static Task WriteRateLimitedAsync(HttpContext ctx, int maxRpm, int retryAfterSeconds)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Retry-After"] = retryAfterSeconds.ToString(inv),
            ["x-ratelimit-limit-requests"] = maxRpm.ToString(inv),
            ["x-ratelimit-remaining-requests"] = "0",
            ["x-ratelimit-reset-requests"] = retryAfterSeconds.ToString(inv) + "s",
        };
        return WriteErrorAsync(ctx, 429, "requests", "rate_limit_exceeded",
            $"Rate limit reached for requests per min (RPM): Limit {maxRpm}, Used {maxRpm}, Requested 1. Please try again in {retryAfterSeconds}s.",
            headers);
    }

    private static int PromptTokens(long bodyLength) => (int)Math.Max(1, bodyLength / 4);

    private static void WriteIdCreatedModel(IBufferWriter<byte> w, long id, long created, byte[] model, ReadOnlySpan<byte> objectName)
    {
        W.Raw(w, "{\"id\":\"chatcmpl-fake"u8);
        W.Hex(w, id);
        W.Raw(w, "\",\"object\":\""u8);
        W.Raw(w, objectName);
        W.Raw(w, "\",\"created\":"u8);
        W.Num(w, created);
        W.Raw(w, ",\"model\":\""u8);
        W.Raw(w, model);
        W.Raw(w, "\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fake\""u8);
    }

    private static void WriteUsage(IBufferWriter<byte> w, int prompt, int completion)
    {
        W.Raw(w, "\"usage\":{\"prompt_tokens\":"u8);
        W.Num(w, prompt);
        W.Raw(w, ",\"completion_tokens\":"u8);
        W.Num(w, completion);
        W.Raw(w, ",\"total_tokens\":"u8);
        W.Num(w, prompt + completion);
        W.Raw(w, ",\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}"u8);
    }

    private async Task WriteCompletionAsync(HttpContext ctx, ParsedRequest parsed, long bodyLength, FakeResponse? behavior)
    {
        var plan = PlanFor(behavior);
        var response = ctx.Response;
        response.StatusCode = behavior?.StatusCode ?? 200;
        response.ContentType = "application/json";
        var b = Buffer();
        WriteIdCreatedModel(b, Interlocked.Increment(ref _idCounter), _time.GetUtcNow().ToUnixTimeSeconds(), parsed.Model, "chat.completion"u8);
        W.Raw(b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""u8);
        W.Raw(b, plan.Full);
        W.Raw(b, "\",\"refusal\":null,\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"u8);
        WriteUsage(b, PromptTokens(bodyLength), plan.Tokens);
        W.Raw(b, "}"u8);
        if (behavior?.DropAfterBytes is { } keep && keep < b.WrittenCount)
        {
            // The Content-Length promises the whole answer; the reset comes after the first bytes.
            response.ContentLength = b.WrittenCount;
            response.BodyWriter.Write(b.WrittenSpan[..keep]);
            await response.BodyWriter.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            await DropAsync(ctx).ConfigureAwait(false);
            return;
        }
        await SendBuffered(ctx, b).ConfigureAwait(false);
    }

    private static async Task WriteGarbageAsync(HttpContext ctx, bool stream)
    {
        var response = ctx.Response;
        response.StatusCode = 200;
        response.ContentType = stream ? "text/event-stream; charset=utf-8" : "application/json";
        var bytes = stream ? GarbageEvents : GarbageJson;
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, ctx.RequestAborted).ConfigureAwait(false);
    }

    // What a confused hop might send instead of the answer: an HTML error page, binary noise, half a JSON object.
    private static readonly byte[] GarbageJson = Encoding.UTF8.GetBytes("<html><body>502 Bad Gateway</body></html>\u0000\u00ff{\"choices\":[{\"mess");
    private static readonly byte[] GarbageEvents = Encoding.UTF8.GetBytes("data: {\"id\":\"chatcmpl-\u0000\u00ff\n\ndata: <html>502 Bad Gateway</html>\n\n");

    private async Task WriteScenarioAsync(HttpContext ctx, ParsedRequest parsed, OpenAiScenario scenario, long bodyLength, List<string>? toolResults, FakeResponse? behavior)
    {
        var id = Interlocked.Increment(ref _idCounter);
        var answer = OpenAiScenarioAnswer.For(scenario, id, PromptTokens(bodyLength), toolResults);
        var completionId = "chatcmpl-fake" + id.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        var created = _time.GetUtcNow().ToUnixTimeSeconds();
        var model = Encoding.UTF8.GetString(parsed.Model);
        var response = ctx.Response;
        response.StatusCode = 200;
        if (parsed.Stream)
        {
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache";
            await answer.StreamAsync(ctx, completionId, created, model, parsed.IncludeUsage, behavior?.DelayBetweenEvents ?? TimeSpan.Zero).ConfigureAwait(false);
            return;
        }

        response.ContentType = "application/json";
        var b = Buffer();
        answer.WriteCompletion(b, completionId, created, model);
        await SendBuffered(ctx, b).ConfigureAwait(false);
    }

    private async Task WriteEmbeddingsAsync(HttpContext ctx, FakeEmbeddings embeddings)
    {
        var response = ctx.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        var b = Buffer();
        embeddings.WriteAnswer(b, _options.EmbeddingDimensions);
        await SendBuffered(ctx, b).ConfigureAwait(false);
    }

    private async Task WriteStreamAsync(HttpContext ctx, ParsedRequest parsed, long bodyLength, FakeResponse? behavior)
    {
        var response = ctx.Response;
        var pipe = response.BodyWriter;
        var ct = ctx.RequestAborted;
        response.StatusCode = behavior?.StatusCode ?? 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";

        var plan = PlanFor(behavior);
        var id = Interlocked.Increment(ref _idCounter);
        var created = _time.GetUtcNow().ToUnixTimeSeconds();
        var usage = parsed.IncludeUsage;
        var between = behavior?.DelayBetweenEvents ?? TimeSpan.Zero;
        var dropAfter = behavior?.DropAfterEvents ?? int.MaxValue;

        if (behavior is not null && behavior.DelayBeforeFirstEvent > TimeSpan.Zero)
        {
            await pipe.FlushAsync(ct).ConfigureAwait(false); // headers out first
            await Task.Delay(behavior.DelayBeforeFirstEvent, ct).ConfigureAwait(false);
        }

        if (behavior is { SseErrorBeforeContent: true })
        {
            W.Raw(pipe, "data: "u8);
            W.ErrorObject(pipe, behavior.ErrorMessage ?? "The server had an error while processing your request.", behavior.ErrorType ?? "server_error", behavior.ErrorCode);
            W.Raw(pipe, "\n\n"u8);
            await pipe.FlushAsync(ct).ConfigureAwait(false);
            return;
        }

        var sent = 0;
        // Event 0: role; 1..N: content; N+1: finish; N+2: usage (optional); then [DONE].
        var total = plan.Chunks.Length + 2 + (usage ? 1 : 0);
        for (var e = 0; e < total; e++)
        {
            if (sent >= dropAfter)
            {
                await DropAsync(ctx).ConfigureAwait(false);
                return;
            }
            if (e > 0 && between > TimeSpan.Zero)
            {
                await Task.Delay(between, ct).ConfigureAwait(false);
            }
            W.Raw(pipe, "data: "u8);
            WriteIdCreatedModel(pipe, id, created, parsed.Model, "chat.completion.chunk"u8);
            if (e == 0)
            {
                W.Raw(pipe, ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]"u8);
            }
            else if (e <= plan.Chunks.Length)
            {
                W.Raw(pipe, ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\""u8);
                W.Raw(pipe, plan.Chunks[e - 1]);
                W.Raw(pipe, "\"},\"logprobs\":null,\"finish_reason\":null}]"u8);
            }
            else if (e == plan.Chunks.Length + 1)
            {
                W.Raw(pipe, ",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]"u8);
            }
            else
            {
                W.Raw(pipe, ",\"choices\":[],"u8);
                WriteUsage(pipe, PromptTokens(bodyLength), plan.Tokens);
                W.Raw(pipe, "}\n\n"u8);
                await pipe.FlushAsync(ct).ConfigureAwait(false);
                sent++;
                continue;
            }
            W.Raw(pipe, usage ? ",\"usage\":null}\n\n"u8 : "}\n\n"u8);
            await pipe.FlushAsync(ct).ConfigureAwait(false);
            sent++;
        }
        if (sent >= dropAfter)
        {
            await DropAsync(ctx).ConfigureAwait(false);
            return;
        }
        if (between > TimeSpan.Zero)
        {
            await Task.Delay(between, ct).ConfigureAwait(false);
        }
        W.Raw(pipe, "data: [DONE]\n\n"u8);
        await pipe.FlushAsync(ct).ConfigureAwait(false);
    }

    // An abort sends a TCP RST, which on Linux can discard bytes the client has not read yet; give the
    // client a moment to consume what was already flushed so the drop really happens "mid-stream".
    private static async Task DropAsync(HttpContext ctx)
    {
        try
        {
            await Task.Delay(DropGrace, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        ctx.Abort();
    }

    private static readonly TimeSpan DropGrace = TimeSpan.FromMilliseconds(100);

    /// <summary>Sliding 60 s window of accepted requests for one key.</summary>
    private sealed class KeyLimiter(int maxRpm)
    {
        private readonly Queue<long> _accepted = new();
        private readonly Lock _lock = new();

        public int MaxRpm { get; } = maxRpm;
        public string MaxRpmText { get; } = maxRpm.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public bool TryAcquire(long now, long windowTicks, long frequency, out int retryAfterSeconds, out int remaining)
        {
            lock (_lock)
            {
                while (_accepted.Count > 0 && now - _accepted.Peek() >= windowTicks)
                {
                    _accepted.Dequeue();
                }
                if (_accepted.Count >= MaxRpm)
                {
                    var waitTicks = _accepted.Peek() + windowTicks - now;
                    retryAfterSeconds = (int)Math.Max(1, Math.Ceiling(waitTicks / (double)frequency));
                    remaining = 0;
                    return false;
                }
                _accepted.Enqueue(now);
                retryAfterSeconds = 0;
                remaining = MaxRpm - _accepted.Count;
                return true;
            }
        }
    }
}
