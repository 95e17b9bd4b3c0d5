using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Roxy.Faults;

/// <summary>
/// The drill's HTTP client for Roxy: proxied chat completions (JSON and SSE, judged completely: a stream must end with
/// [DONE], a body must be a completion), <c>#roxy</c> commands and admin REST calls.
/// </summary>
public sealed class RoxyClient(DrillClock clock) : IDisposable
{
    /// <summary>Longer than any of Roxy's upstream timeouts in the drill's config, so Roxy answers before the client gives up.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>USD per token of gpt-4o-mini, as the drill's config prices it (the budget check recomputes spend from usage).</summary>
    public const decimal InputPrice = 0.15m / 1_000_000m;

    public const decimal OutputPrice = 0.60m / 1_000_000m;

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(3),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(10),
        MaxConnectionsPerServer = 256,
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The drill's clock, in seconds.</summary>
    public double Now => clock.Now;

    /// <summary>A chat completion with a prompt of its own (so the cache, where on, misses), judged as the lane expects.</summary>
    public async Task<Outcome> ChatAsync(Uri api, Lane lane, int frontend, string prompt)
    {
        var sentAt = clock.Now;
        var body = JsonSerializer.Serialize(new JsonObject
        {
            ["model"] = lane.Model,
            ["max_tokens"] = 16,
            ["stream"] = lane.Stream,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
        });
        using var cts = new CancellationTokenSource(RequestTimeout);
        int status = 0;
        string code;
        decimal cost = 0;
        try
        {
            using var request = Post(api, "v1/chat/completions", body, lane.Token);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            status = (int)response.StatusCode;
            if (status != 200)
            {
                code = ErrorCode(await response.Content.ReadAsStringAsync(cts.Token));
            }
            else if (lane.Stream)
            {
                code = await ReadStreamAsync(response, cts.Token);
            }
            else
            {
                (code, cost) = Completion(await response.Content.ReadAsStringAsync(cts.Token));
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            code = "timeout";
        }
        catch (HttpRequestException e) when (status == 0)
        {
            code = e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused } ? "refused" : "reset";
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // The headers came, the body broke off.
            code = "truncated";
        }

        var failed = !(status == 200 && code == "ok") && !(status == 429 && Expected(lane.Kind, code));
        return new Outcome(lane.Name, lane.Tenant, frontend, lane.Stream, sentAt, clock.Now, status, code, failed, cost);
    }

    /// <summary>A <c>#roxy</c> command: the assistant's answer, or null with the status when Roxy did not answer 200.</summary>
    public async Task<(HttpStatusCode Status, string Text)> CommandAsync(Uri api, string token, string command)
    {
        var body = JsonSerializer.Serialize(new JsonObject
        {
            ["model"] = "roxy",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = command }),
        });
        var (status, text, _) = await SendAsync(HttpMethod.Post, api, "v1/chat/completions", token, body);
        if (status != HttpStatusCode.OK)
        {
            return (status, text);
        }

        return (status, JsonNode.Parse(text)!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    /// <summary>One request of any kind; answers status, body and response headers (status 0: no answer).</summary>
    public async Task<(HttpStatusCode Status, string Text, HttpResponseHeaders? Headers)> SendAsync(
        HttpMethod method, Uri api, string path, string token, string? body = null, string? cacheControl = null)
    {
        using var cts = new CancellationTokenSource(RequestTimeout);
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(api, path));
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            if (cacheControl is not null)
            {
                request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
            }

            using var response = await _http.SendAsync(request, cts.Token);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(cts.Token), response.Headers);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            return (0, e.GetType().Name, null);
        }
    }

    public void Dispose() => _http.Dispose();

    private static bool Expected(LaneKind kind, string code) =>
        (kind == LaneKind.Tight && code == "rate_limit_exceeded") || (kind == LaneKind.Budget && code == "budget_exceeded");

    private static HttpRequestMessage Post(Uri api, string path, string body, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(api, path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return request;
    }

    // A stream succeeds when it carries content and ends with [DONE]; an error event or an early end is a failure.
    private static async Task<string> ReadStreamAsync(HttpResponseMessage response, CancellationToken ct)
    {
        using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var content = false;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            var data = line.AsSpan(6);
            if (data.SequenceEqual("[DONE]"))
            {
                return content ? "ok" : "garbage";
            }

            JsonNode? chunk;
            try
            {
                chunk = JsonNode.Parse(line[6..]);
            }
            catch (JsonException)
            {
                return "garbage";
            }

            if (chunk?["error"] is { } error)
            {
                return error["code"]?.GetValue<string>() ?? error["type"]?.GetValue<string>() ?? "error_event";
            }

            if (chunk?["choices"] is JsonArray { Count: > 0 } choices && choices[0]?["delta"]?["content"] is JsonValue { } text && text.GetValue<string>().Length > 0)
            {
                content = true;
            }
        }

        return "truncated";
    }

    private static (string Code, decimal Cost) Completion(string text)
    {
        try
        {
            var json = JsonNode.Parse(text);
            if (json?["choices"]?[0]?["message"]?["content"] is not JsonValue content || content.GetValue<string>().Length == 0)
            {
                return ("garbage", 0);
            }

            var usage = json["usage"];
            var cost = (usage?["prompt_tokens"]?.GetValue<long>() ?? 0) * InputPrice + (usage?["completion_tokens"]?.GetValue<long>() ?? 0) * OutputPrice;
            return ("ok", cost);
        }
        catch (JsonException)
        {
            return ("garbage", 0);
        }
    }

    private static string ErrorCode(string text)
    {
        try
        {
            var error = JsonNode.Parse(text)?["error"];
            return error?["code"]?.GetValue<string>() ?? error?["type"]?.GetValue<string>() ?? "error";
        }
        catch (JsonException)
        {
            return "not_json";
        }
    }
}
