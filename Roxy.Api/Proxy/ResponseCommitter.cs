using Microsoft.Extensions.Primitives;
using Roxy.Api.Routing;

namespace Roxy.Api.Proxy;

/// <summary>
/// Starts the client response: status, the allowlisted upstream headers and Roxy's own. Called only once the
/// first upstream content is in hand, because after this no other key or target can be tried.
/// </summary>
public static class ResponseCommitter
{
    private static readonly StringValues EventStream = new("text/event-stream");
    private static readonly StringValues NoCache = new("no-cache");

    public static void Commit(ProxyRequest request, HttpResponseMessage? upstream, RouteTarget target, string? keyId, bool sse)
    {
        var response = request.Http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        if (sse)
        {
            response.Headers.ContentType = EventStream;
            response.Headers.CacheControl = NoCache;
        }
        else
        {
            // As received (parsing it into a typed value only to format it back would cost two allocations), unless
            // Kestrel could not send it.
            response.Headers.ContentType = upstream is not null && upstream.Content.Headers.NonValidated.TryGetValues("Content-Type", out var contentType)
                ? SendableOr(contentType.ToString(), "application/json")
                : "application/json";
        }

        if (upstream is not null)
        {
            CopyAllowed(upstream, response.Headers);
        }

        response.Headers["x-roxy-model"] = target.Model;
        response.Headers["x-roxy-provider"] = target.Provider;
        if (keyId is not null)
        {
            response.Headers["x-roxy-key"] = keyId;
        }

        response.Headers["x-roxy-cache"] = request.CacheResult;
        request.Answered = target;
        request.KeyId = keyId;
    }

    /// <summary>Only rate-limit hints and the provider's request id reach the client; nothing else leaks.</summary>
    public static void CopyAllowed(HttpResponseMessage upstream, IHeaderDictionary target)
    {
        foreach (var header in upstream.Headers.NonValidated)
        {
            var name = header.Key;
            if (name.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("anthropic-ratelimit-", StringComparison.OrdinalIgnoreCase))
            {
                CopyIfPrintable(target, name, header.Value.ToString());
            }
            else if (name.Equals("x-request-id", StringComparison.OrdinalIgnoreCase)
                || name.Equals("request-id", StringComparison.OrdinalIgnoreCase))
            {
                CopyIfPrintable(target, "x-upstream-request-id", header.Value.ToString());
            }
        }
    }

    // Upstream header values are untrusted: one Kestrel would refuse to send (control or non-ASCII characters)
    // would fail the response after the provider was paid, so it is left out rather than copied.
    private static void CopyIfPrintable(IHeaderDictionary target, string name, string value)
    {
        if (IsSendable(value))
        {
            target[name] = value;
        }
    }

    /// <summary><paramref name="value"/> when Kestrel can send it as a header value, else <paramref name="fallback"/>.</summary>
    public static string SendableOr(string? value, string fallback) => value is not null && IsSendable(value) ? value : fallback;

    private static bool IsSendable(string value) =>
        value.Length <= MaxHeaderValue && !value.AsSpan().ContainsAnyExceptInRange(' ', '~');

    private const int MaxHeaderValue = 1024;
}
