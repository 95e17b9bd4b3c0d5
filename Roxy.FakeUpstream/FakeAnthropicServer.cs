using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Roxy.FakeUpstream;

/// <summary>
/// A fake Anthropic Messages API on a real loopback Kestrel socket, as strict as the real one
/// (<see cref="AnthropicRequestRules"/>): <c>POST /v1/messages</c> (JSON or named SSE events) and
/// <c>GET /v1/models</c>, both needing <c>x-api-key</c> and <c>anthropic-version</c>. It streams the event
/// sequences the real API sends (<c>message_start</c>, <c>content_block_start/delta/stop</c>, <c>ping</c>,
/// <c>message_delta</c> with cumulative <c>output_tokens</c>, <c>message_stop</c>). What it answers is an
/// <see cref="AnthropicScenario"/>; a per-key behaviour or the FIFO queue (<see cref="FakeResponse"/>, with errors
/// in Anthropic's shape) takes precedence, as in <see cref="FakeOpenAiServer"/>.
/// </summary>
public sealed class FakeAnthropicServer : IAsyncDisposable
{
    public const string ScenarioHeader = "x-fake-scenario";
    private const string ScenarioModelPrefix = "claude-fake-";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly TimeSpan DropGrace = TimeSpan.FromMilliseconds(100);

    private readonly WebApplication _app;
    private readonly FakeUpstreamOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentQueue<FakeResponse> _queue = new();
    private readonly ConcurrentDictionary<string, FakeResponse> _keyBehaviors = new(StringComparer.Ordinal);
    private readonly Lock _recordLock = new();
    private readonly List<RecordedRequest> _requests = [];
    private long _idCounter = Random.Shared.NextInt64(1L << 40, 1L << 44);

    private FakeAnthropicServer(WebApplication app, FakeUpstreamOptions options)
    {
        _app = app;
        _options = options;
        _time = options.TimeProvider;
        BaseUrl = new Uri("http://127.0.0.1/v1");
    }

    /// <summary>Base URL including /v1, e.g. http://127.0.0.1:PORT/v1 (Anthropic's own is https://api.anthropic.com/v1).</summary>
    public Uri BaseUrl { get; private set; }

    public int Port => BaseUrl.Port;

    /// <summary>Recorded requests, in arrival order; <see cref="RecordedRequest.ApiKey"/> is the <c>x-api-key</c>.</summary>
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

    /// <summary>The model name that selects <paramref name="scenario"/>: <c>claude-fake-parallel-tools</c>, ….</summary>
    public static string ModelFor(AnthropicScenario scenario) => ScenarioModelPrefix + Kebab(scenario);

    public static async Task<FakeAnthropicServer> StartAsync(FakeUpstreamOptions? options = null)
    {
        options ??= new FakeUpstreamOptions();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(FakeAnthropicServer).Assembly.GetName().Name,
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
        var server = new FakeAnthropicServer(app, options);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.BaseUrl = new Uri($"http://127.0.0.1:{new Uri(address).Port}/v1");
        return server;
    }

    /// <summary>Queue a scripted response; each request without a per-key behaviour consumes one (FIFO).</summary>
    public void Enqueue(FakeResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        _queue.Enqueue(response);
    }

    /// <summary>Every request with this <c>x-api-key</c> gets <paramref name="response"/>. Null clears.</summary>
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

    /// <summary>The last request received, or null: its body and its <c>anthropic-version</c> / <c>anthropic-beta</c> headers.</summary>
    public RecordedRequest? LastRequest
    {
        get
        {
            lock (_recordLock)
            {
                return _requests.Count > 0 ? _requests[^1] : null;
            }
        }
    }

    public int CountFor(string apiKey)
    {
        lock (_recordLock)
        {
            return _requests.Count(r => r.ApiKey == apiKey);
        }
    }

    /// <summary>Clears recorded requests, the queue and per-key behaviours.</summary>
    public void Reset()
    {
        _queue.Clear();
        _keyBehaviors.Clear();
        lock (_recordLock)
        {
            _requests.Clear();
        }
    }

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

    private async Task HandleAsync(HttpContext ctx)
    {
        var request = ctx.Request;
        var path = request.Path.Value ?? "";
        var messages = HttpMethods.IsPost(request.Method) && path == "/v1/messages";
        var models = HttpMethods.IsGet(request.Method) && path == "/v1/models";
        using var bodyStream = new MemoryStream();
        await request.Body.CopyToAsync(bodyStream, ctx.RequestAborted).ConfigureAwait(false);
        var body = bodyStream.ToArray();
        var apiKey = request.Headers["x-api-key"].ToString();
        if (_options.RecordRequests)
        {
            Record(ctx, path, body, apiKey.Length > 0 ? apiKey : null);
        }

        try
        {
            if (!messages && !models)
            {
                await WriteErrorAsync(ctx, 404, "not_found_error", $"Not Found: {request.Method} {path}").ConfigureAwait(false);
                return;
            }

            if (apiKey.Length == 0)
            {
                await WriteErrorAsync(ctx, 401, "authentication_error", "x-api-key header is required").ConfigureAwait(false);
                return;
            }

            if (request.Headers["anthropic-version"].ToString().Length == 0)
            {
                await WriteErrorAsync(ctx, 400, "invalid_request_error", "anthropic-version: header is required").ConfigureAwait(false);
                return;
            }

            var behavior = _keyBehaviors.GetValueOrDefault(apiKey);
            if (behavior is null)
            {
                _queue.TryDequeue(out behavior);
            }

            if (behavior is not null && behavior.DelayBeforeHeaders > TimeSpan.Zero)
            {
                await Task.Delay(behavior.DelayBeforeHeaders, ctx.RequestAborted).ConfigureAwait(false);
            }

            if (behavior is { AbortWithoutResponse: true })
            {
                ctx.Abort();
                return;
            }

            if (models)
            {
                await WriteModelsAsync(ctx).ConfigureAwait(false);
                return;
            }

            // The request is checked before any scripted answer, so every test also proves its translation valid.
            AnthropicRequestRules.Parsed? parsed;
            string? invalid;
            try
            {
                using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 128 });
                invalid = AnthropicRequestRules.Check(document.RootElement, request.Headers["anthropic-beta"].ToString(), out parsed);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                parsed = null;
                invalid = "There was an error parsing the body of your request. Please check that it is valid JSON.";
            }

            if (invalid is not null)
            {
                await WriteErrorAsync(ctx, 400, "invalid_request_error", invalid).ConfigureAwait(false);
                return;
            }

            if (behavior is { StatusCode: < 200 or > 299 })
            {
                await WriteErrorAsync(ctx, behavior.StatusCode, behavior.ErrorType ?? ErrorTypeFor(behavior.StatusCode),
                    behavior.ErrorMessage ?? "Scripted error.", behavior.Headers).ConfigureAwait(false);
                return;
            }

            var scenario = ScenarioOf(request.Headers[ScenarioHeader].ToString(), parsed!.Model);
            if (await WriteScenarioErrorAsync(ctx, scenario, parsed.Stream).ConfigureAwait(false))
            {
                return;
            }

            var answer = Answer(scenario, behavior, parsed, body.Length);
            ctx.Response.Headers["request-id"] = "req_fake" + NextId();
            SuccessRateLimitHeaders(ctx.Response.Headers);
            if (behavior?.Headers is { } extra)
            {
                foreach (var (name, value) in extra)
                {
                    ctx.Response.Headers[name] = value;
                }
            }

            if (parsed.Stream)
            {
                await StreamAsync(ctx, answer, scenario, behavior).ConfigureAwait(false);
            }
            else
            {
                await WriteJsonAsync(ctx, 200, w => WriteMessage(w, answer)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private void Record(HttpContext ctx, string path, byte[] body, string? apiKey)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in ctx.Request.Headers)
        {
            headers[name] = value.ToString();
        }

        var entry = new RecordedRequest(ctx.Request.Method, path, headers, Encoding.UTF8.GetString(body), apiKey, _time.GetUtcNow());
        lock (_recordLock)
        {
            _requests.Add(entry);
        }
    }

    private static AnthropicScenario ScenarioOf(string header, string model)
    {
        var name = header.Length > 0 ? header : model.StartsWith(ScenarioModelPrefix, StringComparison.Ordinal) ? model[ScenarioModelPrefix.Length..] : "";
        return ScenarioNames.Parse(name, AnthropicScenario.Text);
    }

    private static string Kebab(AnthropicScenario scenario) => ScenarioNames.Kebab(scenario);

    private static string ErrorTypeFor(int status) => status switch
    {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    };

    private long NextId() => Interlocked.Increment(ref _idCounter);

    // ------------------------------------------------------------------ answers

    private abstract record Block;

    private sealed record TextBlock(IReadOnlyList<string> Chunks) : Block;

    private sealed record ToolBlock(string Id, string Name, IReadOnlyList<string> Fragments) : Block;

    private sealed record ThinkingBlock(IReadOnlyList<string> Chunks, string Signature) : Block;

    private sealed record FakeAnswer(string Id, string Model, IReadOnlyList<Block> Blocks, string StopReason, int Input, int CacheCreation, int CacheRead)
    {
        public int Output => Math.Max(1, Blocks.Sum(b => b switch
        {
            TextBlock t => t.Chunks.Count,
            ToolBlock t => t.Fragments.Count + 1,
            ThinkingBlock t => t.Chunks.Count,
            _ => 0,
        }));
    }

    private FakeAnswer Answer(AnthropicScenario scenario, FakeResponse? behavior, AnthropicRequestRules.Parsed request, int bodyLength)
    {
        var id = "msg_fake" + NextId().ToString("x", CultureInfo.InvariantCulture);
        var input = Math.Max(1, bodyLength / 4);
        var text = new TextBlock(Words(behavior));
        if ((scenario is AnthropicScenario.ParallelTools or AnthropicScenario.ToolNoArgs) && request.ToolResults.Count > 0)
        {
            // The model has what its tools said: it answers, quoting the results so a test sees they arrived.
            return new FakeAnswer(id, request.Model, [new TextBlock(SplitWords("The tools said: " + string.Join(" | ", request.ToolResults)))], "end_turn", input, 0, 0);
        }

        return scenario switch
        {
            AnthropicScenario.ParallelTools => new FakeAnswer(id, request.Model,
            [
                new TextBlock(["Let me check", " both."]),
                new ToolBlock("toolu_fake_weather_" + id[^6..], "get_weather", ["{\"city\": ", "\"Par", "is\"}"]),
                new ToolBlock("toolu_fake_time_" + id[^6..], "get_time", ["{\"timezone\":", " \"Europe/Paris\"}"]),
            ], "tool_use", input, 0, 0),
            AnthropicScenario.ToolNoArgs => new FakeAnswer(id, request.Model, [new ToolBlock("toolu_fake_status_" + id[^6..], "get_status", [])], "tool_use", input, 0, 0),
            AnthropicScenario.Thinking => new FakeAnswer(id, request.Model,
                [new ThinkingBlock(["Let me think", " about it."], "sig_fake_" + id[^6..]), text], "end_turn", input, 0, 0),
            AnthropicScenario.Cached => new FakeAnswer(id, request.Model, [text], "end_turn", 3, 7, 11),
            AnthropicScenario.MaxTokens => new FakeAnswer(id, request.Model, [text], "max_tokens", input, 0, 0),
            AnthropicScenario.Refusal => new FakeAnswer(id, request.Model, [new TextBlock(["I can't help", " with that."])], "refusal", input, 0, 0),
            _ => new FakeAnswer(id, request.Model, [text], "end_turn", input, 0, 0),
        };
    }

    private IReadOnlyList<string> Words(FakeResponse? behavior)
    {
        var text = behavior?.Content ?? _options.ContentText;
        if (text is { Length: > 0 })
        {
            return SplitWords(text);
        }

        string[] stock = ["Hello", " from", " the", " fake", " upstream"];
        var count = Math.Max(1, behavior?.ContentChunks ?? _options.ContentChunks);
        return Enumerable.Range(0, count).Select(i => stock[i % stock.Length]).ToArray();
    }

    private static List<string> SplitWords(string text)
    {
        var words = new List<string>();
        var start = 0;
        for (var i = 1; i < text.Length; i++)
        {
            if (text[i] == ' ' && text[i - 1] != ' ')
            {
                words.Add(text[start..i]);
                start = i;
            }
        }

        words.Add(text[start..]);
        return words;
    }

    /// <summary>Scenarios that are an error status; true when one was written.</summary>
    private static async Task<bool> WriteScenarioErrorAsync(HttpContext ctx, AnthropicScenario scenario, bool stream)
    {
        switch (scenario)
        {
            case AnthropicScenario.Overloaded:
            case AnthropicScenario.OverloadedBeforeContent when !stream:
                await WriteErrorAsync(ctx, 529, "overloaded_error", "Overloaded").ConfigureAwait(false);
                return true;
            case AnthropicScenario.ErrorMidStream when !stream:
                await WriteErrorAsync(ctx, 500, "api_error", "Internal server error").ConfigureAwait(false);
                return true;
            case AnthropicScenario.RateLimited:
                var reset = DateTimeOffset.UtcNow.AddSeconds(7).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                await WriteErrorAsync(ctx, 429, "rate_limit_error",
                    "This request would exceed the rate limit for your organization of 50 requests per minute.",
                    new Dictionary<string, string>
                    {
                        ["retry-after"] = "7",
                        ["anthropic-ratelimit-requests-limit"] = "50",
                        ["anthropic-ratelimit-requests-remaining"] = "0",
                        ["anthropic-ratelimit-requests-reset"] = reset,
                        ["anthropic-ratelimit-tokens-limit"] = "40000",
                        ["anthropic-ratelimit-tokens-remaining"] = "0",
                        ["anthropic-ratelimit-tokens-reset"] = reset,
                    }).ConfigureAwait(false);
                return true;
            case AnthropicScenario.PromptTooLong:
                await WriteErrorAsync(ctx, 400, "invalid_request_error", "prompt is too long: 210345 tokens > 200000 maximum").ConfigureAwait(false);
                return true;
            default:
                return false;
        }
    }

    private static void SuccessRateLimitHeaders(IHeaderDictionary headers)
    {
        var reset = DateTimeOffset.UtcNow.AddSeconds(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        headers["anthropic-ratelimit-requests-limit"] = "4000";
        headers["anthropic-ratelimit-requests-remaining"] = "3999";
        headers["anthropic-ratelimit-requests-reset"] = reset;
        headers["anthropic-ratelimit-tokens-limit"] = "400000";
        headers["anthropic-ratelimit-tokens-remaining"] = "399000";
        headers["anthropic-ratelimit-tokens-reset"] = reset;
    }

    private static void WriteMessage(Utf8JsonWriter w, FakeAnswer answer)
    {
        w.WriteStartObject();
        w.WriteString("id", answer.Id);
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", answer.Model);
        w.WriteStartArray("content");
        foreach (var block in answer.Blocks)
        {
            w.WriteStartObject();
            switch (block)
            {
                case TextBlock text:
                    w.WriteString("type", "text");
                    w.WriteString("text", string.Concat(text.Chunks));
                    break;
                case ToolBlock tool:
                    w.WriteString("type", "tool_use");
                    w.WriteString("id", tool.Id);
                    w.WriteString("name", tool.Name);
                    w.WritePropertyName("input");
                    w.WriteRawValue(tool.Fragments.Count == 0 ? "{}" : string.Concat(tool.Fragments));
                    break;
                case ThinkingBlock thinking:
                    w.WriteString("type", "thinking");
                    w.WriteString("thinking", string.Concat(thinking.Chunks));
                    w.WriteString("signature", thinking.Signature);
                    break;
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("stop_reason", answer.StopReason);
        w.WriteNull("stop_sequence");
        WriteUsage(w, answer, answer.Output);
        w.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter w, FakeAnswer answer, int output)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", answer.Input);
        w.WriteNumber("cache_creation_input_tokens", answer.CacheCreation);
        w.WriteNumber("cache_read_input_tokens", answer.CacheRead);
        w.WriteNumber("output_tokens", output);
        w.WriteEndObject();
    }

    // ------------------------------------------------------------------ streaming

    /// <summary>Writes one named event per call and flushes it, pacing and dropping as the behaviour says.</summary>
    private sealed class EventStream(HttpContext ctx, FakeResponse? behavior)
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(1024);
        private int _sent;

        public async Task<bool> SendAsync(string name, Action<Utf8JsonWriter> data)
        {
            if (_sent >= (behavior?.DropAfterEvents ?? int.MaxValue))
            {
                try
                {
                    // An abort is a TCP reset, which can discard bytes not yet read: let the client read them first.
                    await Task.Delay(DropGrace, ctx.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }

                ctx.Abort();
                return false;
            }

            if (_sent > 0 && behavior is { DelayBetweenEvents: var between } && between > TimeSpan.Zero)
            {
                await Task.Delay(between, ctx.RequestAborted).ConfigureAwait(false);
            }

            _buffer.ResetWrittenCount();
            _buffer.Write(Encoding.UTF8.GetBytes("event: " + name + "\ndata: "));
            using (var writer = new Utf8JsonWriter(_buffer, WriterOptions))
            {
                data(writer);
            }

            _buffer.Write("\n\n"u8);
            await ctx.Response.Body.WriteAsync(_buffer.WrittenMemory, ctx.RequestAborted).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            _sent++;
            return true;
        }
    }

    private static async Task StreamAsync(HttpContext ctx, FakeAnswer answer, AnthropicScenario scenario, FakeResponse? behavior)
    {
        var response = ctx.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync(ctx.RequestAborted).ConfigureAwait(false);
        if (behavior is not null && behavior.DelayBeforeFirstEvent > TimeSpan.Zero)
        {
            await response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            await Task.Delay(behavior.DelayBeforeFirstEvent, ctx.RequestAborted).ConfigureAwait(false);
        }

        var events = new EventStream(ctx, behavior);
        var sent = await events.SendAsync("message_start", w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "message_start");
            w.WriteStartObject("message");
            w.WriteString("id", answer.Id);
            w.WriteString("type", "message");
            w.WriteString("role", "assistant");
            w.WriteString("model", answer.Model);
            w.WriteStartArray("content");
            w.WriteEndArray();
            w.WriteNull("stop_reason");
            w.WriteNull("stop_sequence");
            WriteUsage(w, answer, 1);
            w.WriteEndObject();
            w.WriteEndObject();
        }).ConfigureAwait(false);
        if (!sent)
        {
            return;
        }

        if (scenario == AnthropicScenario.OverloadedBeforeContent || behavior is { SseErrorBeforeContent: true })
        {
            // Anthropic's early overload: the stream opened, then failed before any content.
            _ = await events.SendAsync("ping", Ping).ConfigureAwait(false)
                && await events.SendAsync("error", w => Error(w, behavior?.ErrorType ?? "overloaded_error", behavior?.ErrorMessage ?? "Overloaded")).ConfigureAwait(false);
            return;
        }

        var output = 1;
        for (var index = 0; index < answer.Blocks.Count; index++)
        {
            var block = answer.Blocks[index];
            var blockIndex = index;
            if (!await events.SendAsync("content_block_start", w =>
                {
                    w.WriteStartObject();
                    w.WriteString("type", "content_block_start");
                    w.WriteNumber("index", blockIndex);
                    w.WriteStartObject("content_block");
                    switch (block)
                    {
                        case TextBlock:
                            w.WriteString("type", "text");
                            w.WriteString("text", "");
                            break;
                        case ToolBlock tool:
                            w.WriteString("type", "tool_use");
                            w.WriteString("id", tool.Id);
                            w.WriteString("name", tool.Name);
                            w.WriteStartObject("input");
                            w.WriteEndObject();
                            break;
                        case ThinkingBlock:
                            w.WriteString("type", "thinking");
                            w.WriteString("thinking", "");
                            break;
                    }

                    w.WriteEndObject();
                    w.WriteEndObject();
                }).ConfigureAwait(false))
            {
                return;
            }

            // The real API sends a ping after the first block opens; one between blocks shows pings can come anywhere.
            if (!await events.SendAsync("ping", Ping).ConfigureAwait(false))
            {
                return;
            }

            var deltas = block switch
            {
                TextBlock text => text.Chunks.Select(c => ("text_delta", "text", c)).ToList(),
                ToolBlock tool => (tool.Fragments.Count == 0 ? [""] : tool.Fragments).Select(f => ("input_json_delta", "partial_json", f)).ToList(),
                ThinkingBlock thinking => [.. thinking.Chunks.Select(c => ("thinking_delta", "thinking", c)), ("signature_delta", "signature", thinking.Signature)],
                _ => [],
            };
            for (var d = 0; d < deltas.Count; d++)
            {
                var (type, field, value) = deltas[d];
                if (!await events.SendAsync("content_block_delta", w =>
                    {
                        w.WriteStartObject();
                        w.WriteString("type", "content_block_delta");
                        w.WriteNumber("index", blockIndex);
                        w.WriteStartObject("delta");
                        w.WriteString("type", type);
                        w.WriteString(field, value);
                        w.WriteEndObject();
                        w.WriteEndObject();
                    }).ConfigureAwait(false))
                {
                    return;
                }

                output++;
                if (scenario == AnthropicScenario.ErrorMidStream && d == Math.Min(1, deltas.Count - 1))
                {
                    // Content went out; then the provider fails: the stream ends with an error, never a stop.
                    await events.SendAsync("error", w => Error(w, "overloaded_error", "Overloaded")).ConfigureAwait(false);
                    return;
                }

                if (scenario == AnthropicScenario.TruncatedStream && d == Math.Min(1, deltas.Count - 1))
                {
                    // Content went out; then the stream just ends, with neither an error nor a stop.
                    return;
                }
            }

            if (!await events.SendAsync("content_block_stop", w =>
                {
                    w.WriteStartObject();
                    w.WriteString("type", "content_block_stop");
                    w.WriteNumber("index", blockIndex);
                    w.WriteEndObject();
                }).ConfigureAwait(false))
            {
                return;
            }
        }

        _ = await events.SendAsync("message_delta", w =>
            {
                w.WriteStartObject();
                w.WriteString("type", "message_delta");
                w.WriteStartObject("delta");
                w.WriteString("stop_reason", answer.StopReason);
                w.WriteNull("stop_sequence");
                w.WriteEndObject();
                // Cumulative: the whole answer's output count, not this event's.
                w.WriteStartObject("usage");
                w.WriteNumber("output_tokens", answer.Output);
                w.WriteEndObject();
                w.WriteEndObject();
            }).ConfigureAwait(false)
            && await events.SendAsync("message_stop", w =>
            {
                w.WriteStartObject();
                w.WriteString("type", "message_stop");
                w.WriteEndObject();
            }).ConfigureAwait(false);
    }

    private static void Ping(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", "ping");
        w.WriteEndObject();
    }

    private static void Error(Utf8JsonWriter w, string type, string message)
    {
        w.WriteStartObject();
        w.WriteString("type", "error");
        w.WriteStartObject("error");
        w.WriteString("type", type);
        w.WriteString("message", message);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    // ------------------------------------------------------------------ plain JSON answers

    private async Task WriteModelsAsync(HttpContext ctx)
    {
        string[] ids = ["claude-sonnet-4-5-20250929", "claude-3-5-haiku-20241022", .. Enum.GetValues<AnthropicScenario>().Select(ModelFor)];
        var created = _time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        await WriteJsonAsync(ctx, 200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("data");
            foreach (var id in ids)
            {
                w.WriteStartObject();
                w.WriteString("type", "model");
                w.WriteString("id", id);
                w.WriteString("display_name", id);
                w.WriteString("created_at", created);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteBoolean("has_more", false);
            w.WriteString("first_id", ids[0]);
            w.WriteString("last_id", ids[^1]);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static Task WriteErrorAsync(HttpContext ctx, int status, string type, string message, IReadOnlyDictionary<string, string>? headers = null)
    {
        var requestId = "req_fake" + Guid.NewGuid().ToString("N");
        ctx.Response.Headers["request-id"] = requestId;
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                ctx.Response.Headers[name] = value;
            }
        }

        return WriteJsonAsync(ctx, status, w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "error");
            w.WriteStartObject("error");
            w.WriteString("type", type);
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteString("request_id", requestId);
            w.WriteEndObject();
        });
    }

    private static async Task WriteJsonAsync(HttpContext ctx, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = buffer.WrittenCount;
        await ctx.Response.Body.WriteAsync(buffer.WrittenMemory, ctx.RequestAborted).ConfigureAwait(false);
    }
}
