using System.Diagnostics;

namespace Roxy.Api.Providers;

/// <summary>
/// A cheap authenticated request (<c>GET /models</c>) with one key: used by <c>#roxy test key</c> and by the
/// background prober that brings refused keys back. The provider's own error text is never returned: it can
/// quote part of the key.
/// </summary>
public static class KeyProbe
{
    public sealed record Result(bool Accepted, int? Status, string? Failure, TimeSpan Elapsed, IReadOnlyList<(string Name, string Value)> RateLimitHeaders);

    public static async Task<Result> SendAsync(IProviderClient client, string secret, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var request = client.CreateRequest(UpstreamOperation.Models, default, secret, stream: false);
            using var response = await client.Http.SendAsync(request, cts.Token);
            var headers = response.Headers.NonValidated
                .Where(h => h.Key.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase) || h.Key.StartsWith("anthropic-ratelimit-", StringComparison.OrdinalIgnoreCase))
                .Select(h => (h.Key.ToLowerInvariant(), h.Value.ToString()))
                .OrderBy(h => h.Item1, StringComparer.Ordinal)
                .ToArray();
            var status = (int)response.StatusCode;
            return new Result(status is >= 200 and < 300, status, null, Stopwatch.GetElapsedTime(started), headers);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var failure = ex is OperationCanceledException ? "no answer (timed out)" : "no answer (could not connect)";
            return new Result(false, null, failure, Stopwatch.GetElapsedTime(started), []);
        }
    }
}
