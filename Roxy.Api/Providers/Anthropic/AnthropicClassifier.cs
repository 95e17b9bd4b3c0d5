using Roxy.Grains.Rotation;

namespace Roxy.Api.Providers.Anthropic;

/// <summary>
/// The README's table of upstream signals for Anthropic's statuses and error types: 429 <c>rate_limit_error</c>
/// cools the key; 529 or <c>overloaded_error</c> backs the provider off; 401/403 disable the key; billing problems
/// (402 <c>billing_error</c>, or a 400 saying the credit balance or the usage limit is spent) disable it as quota;
/// 400/404/413/422 are the caller's; anything else is a failed attempt.
/// </summary>
public static class AnthropicClassifier
{
    public static UpstreamOutcome Classify(int status, ReadOnlySpan<byte> errorBody)
    {
        if (status is >= 200 and < 300)
        {
            return UpstreamOutcome.Success;
        }

        var (type, message) = AnthropicErrorBody.Read(errorBody);
        return status switch
        {
            529 => UpstreamOutcome.ProviderOverloaded,
            _ when type == "overloaded_error" => UpstreamOutcome.ProviderOverloaded,
            429 => UpstreamOutcome.RateLimited,
            402 => UpstreamOutcome.QuotaExhausted,
            _ when type == "billing_error" || IsBilling(message) => UpstreamOutcome.QuotaExhausted,
            401 or 403 => UpstreamOutcome.AuthFailed,
            400 or 404 or 413 or 422 => UpstreamOutcome.CallerError,
            _ => UpstreamOutcome.Failed,
        };
    }

    /// <summary>
    /// An <c>event: error</c> in a stream, by its error type. Only what concerns the key or the provider is more than
    /// a failed attempt: a request the provider had already accepted is not the caller's fault.
    /// </summary>
    public static UpstreamOutcome ClassifyStreamError(ReadOnlySpan<byte> errorData)
    {
        var (type, message) = AnthropicErrorBody.Read(errorData);
        return type switch
        {
            "overloaded_error" => UpstreamOutcome.ProviderOverloaded,
            "rate_limit_error" => UpstreamOutcome.RateLimited,
            "billing_error" => UpstreamOutcome.QuotaExhausted,
            "authentication_error" or "permission_error" => UpstreamOutcome.AuthFailed,
            _ when IsBilling(message) => UpstreamOutcome.QuotaExhausted,
            _ => UpstreamOutcome.Failed,
        };
    }

    // Anthropic answers a spent balance or a reached spend limit with 400 invalid_request_error; the key, not the
    // request, is what cannot be used.
    private static bool IsBilling(string? message) =>
        message is not null
        && (message.Contains("credit balance", StringComparison.OrdinalIgnoreCase)
            || message.Contains("API usage limits", StringComparison.OrdinalIgnoreCase));
}
