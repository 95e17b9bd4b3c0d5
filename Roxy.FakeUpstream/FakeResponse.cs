namespace Roxy.FakeUpstream;

/// <summary>
/// A scripted behaviour for one request (queue) or for every request with one API key.
/// Status 2xx → a normal answer, shaped by the delay / stream fields; any other status → an OpenAI error body.
/// </summary>
public sealed record FakeResponse
{
    /// <summary>HTTP status. 2xx → normal answer; otherwise an OpenAI error body built from the Error* fields.</summary>
    public int StatusCode { get; init; } = 200;

    /// <summary>OpenAI error <c>type</c>, e.g. "invalid_request_error", "requests", "server_error".</summary>
    public string? ErrorType { get; init; }

    /// <summary>OpenAI error <c>code</c>, e.g. "invalid_api_key", "rate_limit_exceeded" (null → JSON null).</summary>
    public string? ErrorCode { get; init; }

    /// <summary>OpenAI error <c>message</c>.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Extra response headers (e.g. Retry-After, x-ratelimit-reset-requests, x-ratelimit-remaining-requests). Override the defaults.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>Wait before sending the response headers.</summary>
    public TimeSpan DelayBeforeHeaders { get; init; }

    /// <summary>Streaming: wait after the headers are flushed, before the first SSE event.</summary>
    public TimeSpan DelayBeforeFirstEvent { get; init; }

    /// <summary>Streaming: wait between consecutive SSE events (simulates slow generation / idle stalls).</summary>
    public TimeSpan DelayBetweenEvents { get; init; }

    /// <summary>Streaming: answer 200 text/event-stream, then one <c>data: {"error":{...}}</c> event (from the Error* fields) before any content, then end the stream without [DONE].</summary>
    public bool SseErrorBeforeContent { get; init; }

    /// <summary>Streaming: abort the connection (TCP reset, ~100 ms after the last flush) after this many data events (role chunk counts as the first; 0 = after headers). Null → never.</summary>
    public int? DropAfterEvents { get; init; }

    /// <summary>Abort the connection (TCP reset) without sending any response, after <see cref="DelayBeforeHeaders"/>.</summary>
    public bool AbortWithoutResponse { get; init; }

    /// <summary>Non-streamed answers: send the headers (with the whole answer's Content-Length) and this many bytes of the body, then abort the connection (TCP reset). Null → never.</summary>
    public int? DropAfterBytes { get; init; }

    /// <summary>Answer 200 with bytes that are neither the promised JSON nor SSE (what a broken hop in between may send).</summary>
    public bool Garbage { get; init; }

    /// <summary>Override the answer text (split into chunks at spaces).</summary>
    public string? Content { get; init; }

    /// <summary>Override the number of stock content chunks (ignored when <see cref="Content"/> is set).</summary>
    public int? ContentChunks { get; init; }

    /// <summary>Normal 200 answer.</summary>
    public static FakeResponse Ok() => new();

    /// <summary>An error answer with the OpenAI error body shape.</summary>
    public static FakeResponse Error(int statusCode, string type, string? code, string message, IReadOnlyDictionary<string, string>? headers = null) =>
        new() { StatusCode = statusCode, ErrorType = type, ErrorCode = code, ErrorMessage = message, Headers = headers };

    /// <summary>401 invalid_api_key, as OpenAI answers a bad key.</summary>
    public static FakeResponse Unauthorized() =>
        Error(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.");

    /// <summary>429 rate_limit_exceeded with Retry-After and x-ratelimit-* headers.</summary>
    public static FakeResponse RateLimited(int retryAfterSeconds = 1, int limitRequests = 60) =>
        Error(429, "requests", "rate_limit_exceeded",
            $"Rate limit reached for requests per min (RPM): Limit {limitRequests}. Please try again in {retryAfterSeconds}s.",
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                ["Retry-After"] = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["x-ratelimit-limit-requests"] = limitRequests.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["x-ratelimit-remaining-requests"] = "0",
                ["x-ratelimit-reset-requests"] = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + "s",
            });

    /// <summary>Never answers: the request waits (a day) until the client gives up.</summary>
    public static FakeResponse Hang() => new() { DelayBeforeHeaders = TimeSpan.FromDays(1) };

    /// <summary>Resets the connection mid-answer: streams after the role chunk and one content chunk, JSON answers after a few bytes.</summary>
    public static FakeResponse ResetMidAnswer() => new() { DropAfterEvents = 2, DropAfterBytes = 40 };

    /// <summary>200 with garbage instead of the answer.</summary>
    public static FakeResponse GarbageAnswer() => new() { Garbage = true };

    /// <summary>500 server_error.</summary>
    public static FakeResponse ServerError(string message = "The server had an error while processing your request. Sorry about that!") =>
        Error(500, "server_error", null, message);

    /// <summary>503 overloaded.</summary>
    public static FakeResponse Overloaded() =>
        Error(503, "server_error", null, "The engine is currently overloaded, please try again later.");

    // Lazily built wire bytes for Content/ContentChunks overrides (benign race).
    internal ContentPlan? CachedPlan;
}

/// <summary>One request as seen by the fake server.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">Request path, e.g. /v1/chat/completions.</param>
/// <param name="Headers">Request headers (case-insensitive; multi-values joined with ", ").</param>
/// <param name="Body">Raw request body (UTF-8 decoded).</param>
/// <param name="ApiKey">Bearer token from the Authorization header, or null.</param>
/// <param name="ArrivedAt">Arrival time (from <see cref="FakeUpstreamOptions.TimeProvider"/>).</param>
public sealed record RecordedRequest(
    string Method,
    string Path,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    string? ApiKey,
    DateTimeOffset ArrivedAt);
