using System.Diagnostics;
using System.Text.Json;

namespace Roxy.Api.Providers;

/// <summary>
/// A cheap authenticated request with one key: used by <c>#roxy test key</c> and by the background prober that brings
/// refused keys back. <c>GET /models</c> by default; a minimal chat completion when a model is given, because
/// <c>/models</c> is free and answers 200 to a key whose quota is exhausted. The provider's own error text is never
/// returned: it can quote part of the key.
/// </summary>
public static class KeyProbe
{
    public sealed record Result(bool Accepted, int? Status, string? Failure, TimeSpan Elapsed, IReadOnlyList<(string Name, string Value)> RateLimitHeaders);

    /// <param name="completionModel">
    /// Set: the probe is <c>POST /chat/completions</c> to this model with one short user message and
    /// <c>max_tokens: 1</c>. An accepted probe is billed by the provider (about ten tokens); a refused one is not.
    /// </param>
    public static async Task<Result> SendAsync(
        IProviderClient client, string secret, TimeSpan timeout, string? completionModel = null, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var request = completionModel is null
                ? client.CreateRequest(UpstreamOperation.Models, default, secret, stream: false)
                : client.CreateRequest(UpstreamOperation.ChatCompletions, MinimalCompletion(completionModel), secret, stream: false);
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

    /// <summary><c>{"model":…,"max_tokens":1,"messages":[{"role":"user","content":"hi"}]}</c>, the model JSON-escaped.</summary>
    internal static byte[] MinimalCompletion(string model)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            json.WriteNumber("max_tokens", 1);
            json.WriteStartArray("messages");
            json.WriteStartObject();
            json.WriteString("role", "user");
            json.WriteString("content", "hi");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
