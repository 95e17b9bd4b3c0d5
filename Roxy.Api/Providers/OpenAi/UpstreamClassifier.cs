using Roxy.Grains.Rotation;

namespace Roxy.Api.Providers.OpenAi;

/// <summary>The README's table under 'Upstream signals': what an upstream status means for the key, the provider and the request.</summary>
public static class UpstreamClassifier
{
    public static UpstreamOutcome Classify(int status, ReadOnlySpan<byte> errorBody) => status switch
    {
        >= 200 and < 300 => UpstreamOutcome.Success,
        429 when Contains(errorBody, "insufficient_quota"u8) => UpstreamOutcome.QuotaExhausted,
        429 => UpstreamOutcome.RateLimited,
        402 => UpstreamOutcome.QuotaExhausted,
        401 or 403 => UpstreamOutcome.AuthFailed,
        529 => UpstreamOutcome.ProviderOverloaded,
        503 when Contains(errorBody, "overload"u8) => UpstreamOutcome.ProviderOverloaded,
        // The caller's own mistakes pass through untouched; any other 4xx is the provider's business and its text
        // (which may quote the key) is replaced like a 5xx.
        400 or 404 or 413 or 422 => UpstreamOutcome.CallerError,
        _ => UpstreamOutcome.Failed,
    };

    private static bool Contains(ReadOnlySpan<byte> body, ReadOnlySpan<byte> needle) => body.IndexOf(needle) >= 0;
}
