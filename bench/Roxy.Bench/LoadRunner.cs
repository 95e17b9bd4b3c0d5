using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace Roxy.Bench;

internal sealed record RunResult(
    string Mode, int Concurrency, string Target, long Requests, long Errors, double ElapsedSeconds,
    double P50Ms, double P99Ms, double TtfbP50Ms, long Dropped, string? FirstError)
{
    /// <summary>CPU µs the target's process (<c>--pid</c>) spent per completed request in this run; NaN without one.</summary>
    public double CpuUsPerRequest { get; init; } = double.NaN;

    /// <summary>Index of the (concurrency, mode) cell this run belongs to; targets in one cell are compared.</summary>
    public int Cell { get; init; }

    public double Rps => ElapsedSeconds > 0 ? Requests / ElapsedSeconds : 0;
}

/// <summary>Closed-loop load: N workers, each sends the next request as soon as the previous response is fully read.</summary>
internal sealed class LoadRunner
{
    // Pre-sized so recording a latency never allocates; excess samples are counted as dropped, not recorded.
    private const int Capacity = 4 * 1024 * 1024;
    private static readonly byte[] OpenAiDone = "data: [DONE]"u8.ToArray();
    private static readonly byte[] AnthropicDone = "event: message_stop"u8.ToArray();

    private readonly HttpClient _client;
    private readonly BenchOptions _options;
    private readonly long[] _latencies = new long[Capacity];
    private readonly long[] _ttfb = new long[Capacity];
    private readonly byte[] _bodyStream;
    private readonly byte[] _bodyPlain;
    private readonly byte[] _bodyHead;
    private long _prompt;
    private long _nextToken;
    private readonly AuthenticationHeaderValue? _auth;
    private readonly byte[] _doneMarker;

    private int _count;
    private int _ttfbCount;
    private long _errors;
    private string? _firstError;

    public LoadRunner(HttpClient client, BenchOptions options)
    {
        _client = client;
        _options = options;
        var model = System.Text.Json.JsonEncodedText.Encode(options.Model).ToString();
        // Anthropic's protocol requires max_tokens; its SDKs send the token as x-api-key.
        var maxTokens = options.Anthropic ? ",\"max_tokens\":64" : "";
        _bodyHead = Encoding.UTF8.GetBytes($$"""{"model":"{{model}}"{{maxTokens}},"messages":[{"role":"user","content":"Say hello""");
        _bodyPlain = Encoding.UTF8.GetBytes($$"""{"model":"{{model}}"{{maxTokens}},"messages":[{"role":"user","content":"Say hello"}],"stream":false}""");
        _bodyStream = Encoding.UTF8.GetBytes($$"""{"model":"{{model}}"{{maxTokens}},"messages":[{"role":"user","content":"Say hello"}],"stream":true}""");
        _auth = string.IsNullOrEmpty(options.Token) || options.Anthropic ? null : new AuthenticationHeaderValue("Bearer", options.Token);
        _doneMarker = options.Anthropic ? AnthropicDone : OpenAiDone;
        // Touch the arrays so page faults do not land inside the first measurement.
        Array.Fill(_latencies, 0);
        Array.Fill(_ttfb, 0);
    }

    // The same request with a number no other request of the run has, so a prompt cache never finds it.
    private byte[] UniqueBody(bool stream)
    {
        var tail = Encoding.UTF8.GetBytes($" {Interlocked.Increment(ref _prompt)}\"}}],\"stream\":{(stream ? "true" : "false")}}}");
        var body = new byte[_bodyHead.Length + tail.Length];
        _bodyHead.CopyTo(body, 0);
        tail.CopyTo(body, _bodyHead.Length);
        return body;
    }

    public async Task<RunResult> RunAsync(BenchTarget target, bool stream, int concurrency, TimeSpan duration, bool record)
    {
        _count = 0;
        _ttfbCount = 0;
        _errors = 0;
        _firstError = null;
        long completed = 0;
        long dropped = 0;
        var auths = target.Tokens?.Select(t => new AuthenticationHeaderValue("Bearer", t)).ToArray();
        var cpuBefore = target.Pid is { } pid ? ProcessCpu.Read(pid) : TimeSpan.Zero;

        // Hard stop: in-flight requests get at most the timeout after the deadline.
        using var hardStop = new CancellationTokenSource(duration + TimeSpan.FromSeconds(_options.TimeoutSeconds));
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                var buffer = new byte[16 * 1024];
                var tail = new byte[_doneMarker.Length + 64]; // Anthropic's marker is followed by its data line
                while (Stopwatch.GetTimestamp() < deadline && !hardStop.IsCancellationRequested)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    long firstByte = 0;
                    var ok = false;
                    try
                    {
                        using var req = new HttpRequestMessage(HttpMethod.Post, target.Url)
                        {
                            Content = new ByteArrayContent(_options.UniquePrompts ? UniqueBody(stream) : stream ? _bodyStream : _bodyPlain),
                        };
                        req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                        // A target with tokens of its own cycles over them: one tenant after another.
                        var turn = auths is null ? 0 : (int)(Interlocked.Increment(ref _nextToken) % auths.Length);
                        var token = target.Tokens is { } tokens ? tokens[turn] : _options.Token;
                        req.Headers.Authorization = _options.Anthropic ? null : auths is null ? _auth : auths[turn];
                        if (_options.Anthropic)
                        {
                            req.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
                            if (!string.IsNullOrEmpty(token))
                            {
                                req.Headers.TryAddWithoutValidation("x-api-key", token);
                            }
                        }
                        foreach (var (name, value) in _options.Headers)
                        {
                            req.Headers.TryAddWithoutValidation(name, value);
                        }
                        using var resp = await _client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, hardStop.Token).ConfigureAwait(false);
                        await using var body = await resp.Content.ReadAsStreamAsync(hardStop.Token).ConfigureAwait(false);
                        var tailLen = 0;
                        int n;
                        while ((n = await body.ReadAsync(buffer, hardStop.Token).ConfigureAwait(false)) > 0)
                        {
                            if (firstByte == 0)
                            {
                                firstByte = Stopwatch.GetTimestamp();
                            }
                            if (stream)
                            {
                                tailLen = AppendTail(tail, tailLen, buffer.AsSpan(0, n));
                            }
                        }
                        ok = resp.IsSuccessStatusCode && (!stream || tail.AsSpan(0, tailLen).IndexOf(_doneMarker) >= 0);
                        if (!ok)
                        {
                            NoteError(resp.IsSuccessStatusCode ? "stream ended without its end marker" : $"HTTP {(int)resp.StatusCode}");
                        }
                    }
                    catch (Exception ex)
                    {
                        NoteError(ex.GetType().Name + ": " + ex.Message);
                    }
                    var t1 = Stopwatch.GetTimestamp();
                    if (!record)
                    {
                        continue;
                    }
                    if (!ok)
                    {
                        Interlocked.Increment(ref _errors);
                        continue;
                    }
                    Interlocked.Increment(ref completed);
                    var i = Interlocked.Increment(ref _count) - 1;
                    if (i < Capacity)
                    {
                        _latencies[i] = t1 - t0;
                    }
                    else
                    {
                        Interlocked.Increment(ref dropped);
                    }
                    if (stream && firstByte != 0)
                    {
                        var j = Interlocked.Increment(ref _ttfbCount) - 1;
                        if (j < Capacity)
                        {
                            _ttfb[j] = firstByte - t0;
                        }
                    }
                }
            });
        }
        await Task.WhenAll(workers).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var cpu = target.Pid is { } measured ? ProcessCpu.Read(measured) - cpuBefore : TimeSpan.Zero;

        var n = Math.Min(_count, Capacity);
        var tn = Math.Min(_ttfbCount, Capacity);
        return new RunResult(
            stream ? "stream" : "non-stream", concurrency, target.Name, completed, _errors, elapsed,
            Percentile(_latencies, n, 0.50), Percentile(_latencies, n, 0.99),
            stream ? Percentile(_ttfb, tn, 0.50) : double.NaN, dropped, _firstError)
        {
            CpuUsPerRequest = target.Pid is not null && completed > 0 ? cpu.TotalMicroseconds / completed : double.NaN,
        };
    }

    private void NoteError(string message) => Interlocked.CompareExchange(ref _firstError, message, null);

    private static int AppendTail(byte[] tail, int tailLen, ReadOnlySpan<byte> data)
    {
        if (data.Length >= tail.Length)
        {
            data[^tail.Length..].CopyTo(tail);
            return tail.Length;
        }
        var keep = Math.Min(tailLen, tail.Length - data.Length);
        tail.AsSpan(tailLen - keep, keep).CopyTo(tail);
        data.CopyTo(tail.AsSpan(keep));
        return keep + data.Length;
    }

    // Nearest-rank percentile in milliseconds; sorts the recorded prefix in place.
    private static double Percentile(long[] samples, int n, double p)
    {
        if (n == 0)
        {
            return double.NaN;
        }
        Array.Sort(samples, 0, n);
        var rank = (int)Math.Ceiling(p * n) - 1;
        rank = Math.Clamp(rank, 0, n - 1);
        return samples[rank] * 1000.0 / Stopwatch.Frequency;
    }
}
