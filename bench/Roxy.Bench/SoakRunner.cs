using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Roxy.Bench;

/// <summary>
/// Mixed traffic for a long run, paced at <see cref="BenchOptions.SoakRate"/> requests a second: each request picks one
/// of <see cref="BenchOptions.SoakPrompts"/> prompts at random, each prompt bound to one token (so to one tenant), and
/// streams or not at random. A prompt's first request is a cache miss, later ones hit until the entry expires (the
/// tenant's TTL), so both keep coming. Every <see cref="BenchOptions.SampleSeconds"/> it samples the target process's
/// RSS and prints a row; the table goes to <c>--markdown</c>.
/// </summary>
internal static class SoakRunner
{
    private const int Workers = 32;

    public static async Task<int> RunAsync(HttpClient client, BenchOptions options, double seconds)
    {
        var target = options.Targets[0];
        var tokens = target.Tokens!;
        var auths = tokens.Select(t => new AuthenticationHeaderValue("Bearer", t)).ToArray();
        var model = System.Text.Json.JsonEncodedText.Encode(options.Model).ToString();
        long sent = 0, hits = 0, misses = 0, errors = 0;
        string? firstError = null;
        var started = Stopwatch.GetTimestamp();
        var until = started + (long)(seconds * Stopwatch.Frequency);
        var interval = (long)(Workers / options.SoakRate * Stopwatch.Frequency);

        var rows = new StringBuilder();
        rows.AppendLine(CultureInfo.InvariantCulture, $"Soak: {seconds:F0} s at {options.SoakRate:F0} req/s, {tokens.Length} tenants, {options.SoakPrompts} distinct prompts, chat and streaming at random, model `{options.Model}`, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        rows.AppendLine();
        rows.AppendLine("| minute | RSS MiB | requests | cache hits | cache misses | errors |");
        rows.AppendLine("|---:|---:|---:|---:|---:|---:|");
        void Sample()
        {
            var line = string.Create(CultureInfo.InvariantCulture,
                $"| {Stopwatch.GetElapsedTime(started).TotalMinutes:F1} | {(target.Pid is { } pid ? ProcessCpu.RssMiB(pid) : double.NaN):F0} | {Interlocked.Read(ref sent)} | {Interlocked.Read(ref hits)} | {Interlocked.Read(ref misses)} | {Interlocked.Read(ref errors)} |");
            rows.AppendLine(line);
            Console.Error.WriteLine(line);
        }

        Sample();
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.SampleSeconds));
            try
            {
                while (await timer.WaitForNextTickAsync(sampling.Token))
                {
                    Sample();
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            var read = new byte[16 * 1024];
            // Workers start spread over one interval, then each keeps its own pace.
            var next = started + (interval * w / Workers);
            while (true)
            {
                var now = Stopwatch.GetTimestamp();
                if (now >= until)
                {
                    break;
                }

                if (next > now)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)(next - now) / Stopwatch.Frequency));
                }

                next += interval;
                var prompt = random.Next(options.SoakPrompts);
                var stream = random.Next(2) == 0;
                var body = $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Soak prompt {{prompt}}"}],"stream":{{(stream ? "true" : "false")}}}""";
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, target.Url)
                    {
                        Content = new StringContent(body, Encoding.UTF8, "application/json"),
                    };
                    request.Headers.Authorization = auths[prompt % auths.Length];
                    foreach (var (name, value) in options.Headers)
                    {
                        request.Headers.TryAddWithoutValidation(name, value);
                    }
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    await using var content = await response.Content.ReadAsStreamAsync();
                    while (await content.ReadAsync(read) > 0)
                    {
                    }

                    Interlocked.Increment(ref sent);
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                        Interlocked.CompareExchange(ref firstError, $"HTTP {(int)response.StatusCode}", null);
                    }
                    else if (response.Headers.TryGetValues("x-roxy-cache", out var cache))
                    {
                        var result = cache.FirstOrDefault();
                        if (result == "hit")
                        {
                            Interlocked.Increment(ref hits);
                        }
                        else if (result == "miss")
                        {
                            Interlocked.Increment(ref misses);
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
                {
                    Interlocked.Increment(ref sent);
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, ex.GetType().Name + ": " + ex.Message, null);
                }
            }
        })));
        await sampling.CancelAsync();
        await sampler;
        Sample();
        if (firstError is not null)
        {
            Console.Error.WriteLine($"Roxy.Bench: first error: {firstError}");
        }

        var md = rows.ToString();
        Console.WriteLine(md);
        if (options.MarkdownPath is not null)
        {
            await File.WriteAllTextAsync(options.MarkdownPath, md);
        }

        return errors * 100 > Math.Max(1, sent) ? 1 : 0;
    }
}
