using Roxy.Grains.Rotation;

namespace Roxy.Api.Errors;

/// <summary>An error Roxy answers with, before anything was committed to the client.</summary>
public sealed record ProxyError(int Status, string Type, string Code, string Message, string? Param = null)
{
    /// <summary>OpenAI's code for a prompt longer than the model's context window.</summary>
    public const string ContextLengthExceededCode = "context_length_exceeded";

    public TimeSpan? RetryAfter { get; init; }

    public static ProxyError InvalidRequest(string message, string? param, string code = "invalid_request_error") =>
        new(StatusCodes.Status400BadRequest, "invalid_request_error", code, message, param);

    // What every request reader answers for a body it cannot read at all.
    public static ProxyError BodyNotAnObject { get; } = InvalidRequest("The request body must be a JSON object.", null);

    public static ProxyError BodyNotJson { get; } = InvalidRequest("The request body is not valid JSON.", null);

    public static ProxyError BodyNotJsonAt(System.Text.Json.JsonException ex) =>
        InvalidRequest($"The request body is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine}).", null);

    public static ProxyError BodyNotUtf8 { get; } = InvalidRequest("The request body is not valid UTF-8.", null);

    public static ProxyError ModelMissing { get; } = InvalidRequest("You must provide a model parameter.", "model");

    /// <summary>What is left of a conversation once its earlier <c>#roxy</c> turns are stripped: nothing.</summary>
    public static ProxyError OnlyCommandTurnsLeft { get; } =
        InvalidRequest("Only #roxy command turns are left in 'messages'; there is nothing to send to a model.", "messages");

    public static ProxyError InvalidApiKey { get; } = new(
        StatusCodes.Status401Unauthorized,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect or missing API key. Send your Roxy token as 'Authorization: Bearer <token>' or 'x-api-key: <token>'.");

    public static ProxyError ModelNotFound(string model) => new(
        StatusCodes.Status404NotFound,
        "invalid_request_error",
        "model_not_found",
        $"The model '{model}' does not exist or you do not have access to it.",
        "model");

    /// <summary>
    /// A tenant's or token's budget would be crossed (SPEC §6): 429 with <c>Retry-After</c> until the window resets.
    /// Anthropic's shape maps it to <c>rate_limit_error</c>, the type its SDKs give every 429.
    /// </summary>
    public static ProxyError BudgetExceeded(string message, TimeSpan retryAfter) => new(
        StatusCodes.Status429TooManyRequests,
        "budget_exceeded",
        "budget_exceeded",
        message)
    { RetryAfter = retryAfter };

    /// <summary>nginx's status for a client that closed the connection before its answer was complete.</summary>
    public const int ClientClosedStatus = 499;

    /// <summary>
    /// The client went away before its answer was complete (during a wait for a key, a cluster retry, an upstream call
    /// or a write). Never written, since nobody is left to read it: it is what the request is counted, logged and traced as.
    /// </summary>
    public static ProxyError ClientClosed { get; } = new(
        ClientClosedStatus,
        "client_closed_request",
        "cancelled",
        "The client closed the connection before its answer was complete.");

    public static ProxyError ClusterUnavailable { get; } = new(
        StatusCodes.Status503ServiceUnavailable,
        "service_unavailable",
        "cluster_unavailable",
        "Roxy's cluster did not answer in time; retry shortly.")
    { RetryAfter = TimeSpan.FromSeconds(1) };

    /// <summary>
    /// PostgreSQL did not answer a change (or a read of stored history): nothing was changed, and proxying goes on from
    /// the grains' memory meanwhile.
    /// </summary>
    public static ProxyError StorageUnavailable { get; } = new(
        StatusCodes.Status503ServiceUnavailable,
        "service_unavailable",
        "storage_unavailable",
        "Roxy's storage (PostgreSQL) is unavailable, so nothing was changed; requests to models are still served. Retry in a few seconds.")
    { RetryAfter = TimeSpan.FromSeconds(5) };

    /// <summary>
    /// What to answer for an exception out of a grain call: <see cref="StorageUnavailable"/> when PostgreSQL failed,
    /// <see cref="ClusterUnavailable"/> when the cluster did not answer, null for anything else (a bug: 500).
    /// </summary>
    public static ProxyError? ForClusterFailure(Exception ex) =>
        Roxy.Grains.Hosting.StorageFailure.IsStorage(ex) ? StorageUnavailable
        : ex is OrleansException or TimeoutException ? ClusterUnavailable
        : null;

    public static ProxyError Internal(string requestId) => new(
        StatusCodes.Status500InternalServerError,
        "server_error",
        "internal_error",
        $"Roxy failed to process this request (request id {requestId}).");

    /// <summary>The provider answered with something that is not what its protocol promises; another key or target may do better.</summary>
    public static ProxyError UpstreamMalformed(string provider, string what) => new(
        StatusCodes.Status502BadGateway,
        "upstream_error",
        "upstream_malformed",
        $"Provider '{provider}' {what}.");

    /// <summary>What the client hears when a provider's status was not the caller's fault and no other attempt answered.</summary>
    public static ProxyError ForUpstreamStatus(UpstreamOutcome outcome, string provider, int status, TimeSpan? retryAfter) => outcome switch
    {
        UpstreamOutcome.RateLimited => new(StatusCodes.Status429TooManyRequests, "rate_limit_error", "rate_limit_exceeded", $"Provider '{provider}' rate-limited every key Roxy could use.") { RetryAfter = retryAfter ?? TimeSpan.FromSeconds(1) },
        UpstreamOutcome.QuotaExhausted => new(StatusCodes.Status502BadGateway, "upstream_error", "upstream_quota_exhausted", $"Provider '{provider}' reports the API key's quota is exhausted; the key was taken out of rotation."),
        UpstreamOutcome.AuthFailed => new(StatusCodes.Status502BadGateway, "upstream_error", "upstream_auth_failed", $"Provider '{provider}' rejected the API key; the key was taken out of rotation."),
        UpstreamOutcome.ProviderOverloaded => ProviderOverloaded(provider, retryAfter),
        _ => new(StatusCodes.Status502BadGateway, "upstream_error", "upstream_error", $"Provider '{provider}' answered with status {status}."),
    };

    /// <summary>Overloaded (529, or 503 saying so): the provider is backed off as a whole; the client may retry later.</summary>
    public static ProxyError ProviderOverloaded(string provider, TimeSpan? retryAfter) => new(
        StatusCodes.Status503ServiceUnavailable,
        "upstream_error",
        "upstream_overloaded",
        $"Provider '{provider}' is overloaded; Roxy is backing off from it.")
    { RetryAfter = retryAfter ?? TimeSpan.FromSeconds(1) };

    public static ProxyError UpstreamTimeout(string provider) => new(
        StatusCodes.Status504GatewayTimeout, "upstream_error", "upstream_timeout", $"Provider '{provider}' did not answer in time.");

    public static ProxyError UpstreamUnreachable(string provider, bool connecting) => new(
        StatusCodes.Status502BadGateway,
        "upstream_error",
        "upstream_unreachable",
        connecting ? $"Could not connect to provider '{provider}'." : $"Provider '{provider}' closed the connection before answering.");

    public static ProxyError UpstreamStreamError(string provider) => new(
        StatusCodes.Status502BadGateway, "upstream_error", "upstream_error", $"Provider '{provider}' sent an error before any content.");

    public static ProxyError UpstreamEmpty(string provider) => new(
        StatusCodes.Status502BadGateway, "upstream_error", "upstream_empty", $"Provider '{provider}' ended the stream without any content.");

    public static ProxyError ProviderNotSupported(string provider) => new(
        StatusCodes.Status501NotImplemented,
        "invalid_request_error",
        "provider_not_supported",
        $"Provider '{provider}' speaks a protocol this Roxy build does not proxy.");

    /// <summary>An embeddings request routed only to providers whose protocol has no embeddings (Anthropic has none).</summary>
    public static ProxyError EmbeddingsNotSupported(string provider) => InvalidRequest(
        $"Provider '{provider}' has no embeddings API; route this model to an OpenAI-compatible provider.",
        "model",
        "model_not_supported");

    public static ProxyError KeysExhausted(TimeSpan retryAfter) => new(
        StatusCodes.Status429TooManyRequests,
        "rate_limit_error",
        "rate_limit_exceeded",
        "Every API key for this model is at its rate limit; retry after the time in Retry-After.")
    { RetryAfter = retryAfter };

    public static ProxyError LargerThanAnyKey(long estimatedTokens) => InvalidRequest(
        $"This request needs about {estimatedTokens} tokens, more than any key's max_tpm allows; shorten it or lower max_tokens.",
        "messages",
        "request_too_large");

    public static ProxyError InputLargerThanAnyKey(long estimatedTokens) => InvalidRequest(
        $"This input needs about {estimatedTokens} tokens, more than any key's max_tpm allows; send fewer or shorter inputs per request.",
        "input",
        "request_too_large");

    public static ProxyError InvalidTokenEstimate { get; } = InvalidRequest(
        "Roxy could not size this request's token reservation; check max_tokens and the messages.",
        "max_tokens",
        "invalid_token_estimate");

    public static ProxyError NoAvailableKeys(string? provider) => new(
        StatusCodes.Status503ServiceUnavailable,
        "service_unavailable",
        "no_available_keys",
        provider is null
            ? "No provider could serve this request."
            : $"No enabled API key is configured for provider '{provider}' in this tenant.");

    // The path is Roxy's own parsing of the URL, printable; echoing it tells a client which typo it made.
    public static ProxyError RouteNotFound(string method, string path, bool anthropic = false) => new(
        StatusCodes.Status404NotFound,
        "invalid_request_error",
        "unknown_url",
        anthropic
            ? $"Unrecognized request URL ({method} {Printable(path)}). Roxy serves Anthropic's Messages API as POST /v1/messages and POST /v1/messages/count_tokens."
            : $"Unrecognized request URL ({method} {Printable(path)}). Roxy serves the OpenAI API under /v1 (for example POST /v1/chat/completions).");

    public static ProxyError MethodNotAllowed(string method, IEnumerable<string> allowed) => new(
        StatusCodes.Status405MethodNotAllowed,
        "invalid_request_error",
        "method_not_allowed",
        $"{Printable(method)} is not allowed here; use {string.Join(" or ", allowed)}.");

    private static string Printable(string text)
    {
        var shown = text.Length > 200 ? text[..200] + "…" : text;
        return string.Create(shown.Length, shown, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = s[i] is < ' ' or '\x7f' ? '?' : s[i];
            }
        });
    }

    public static ProxyError BodyTooLarge(long limit) => new(
        StatusCodes.Status413PayloadTooLarge,
        "invalid_request_error",
        "request_too_large",
        $"The request body is larger than the limit of {limit} bytes.");
}
