using System.Globalization;
using System.Net;

namespace Roxy.Bench;

internal sealed record BenchTarget(string Name, Uri Url);

internal sealed class BenchOptions
{
    public List<BenchTarget> Targets { get; } = [];
    public List<int> Concurrency { get; } = [];
    public double DurationSeconds { get; set; } = 10;
    public double WarmupSeconds { get; set; } = 2;
    public bool NonStreaming { get; set; } = true;
    public bool Streaming { get; set; } = true;
    public string? Token { get; set; }
    public string Model { get; set; } = "gpt-4o-mini";
    public string? MarkdownPath { get; set; }
    public double TimeoutSeconds { get; set; } = 30;

    /// <summary>The client's protocol: OpenAI chat completions, or Anthropic Messages (<c>/messages</c>, <c>x-api-key</c>).</summary>
    public bool Anthropic { get; set; }

    /// <summary>Every request a different prompt (a counter in the user message): prompt cache misses, never hits.</summary>
    public bool UniquePrompts { get; set; }

    public const string Usage = """
        Usage: Roxy.Bench --target NAME=URL [--target NAME=URL ...] [--concurrency 1,16,128]
                          [--duration 10] [--warmup 2] [--stream both|true|false] [--token TOKEN]
                          [--model gpt-4o-mini] [--markdown out.md] [--timeout 30] [--protocol openai|anthropic]
                          [--unique-prompts]
          URL is a loopback base URL such as http://127.0.0.1:9100/v1 (/chat/completions, or /messages for
          --protocol anthropic, is appended unless the URL already ends with it). Targets are run in the order
          given; the first is the baseline.
        """;

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            switch (a)
            {
                case "--target":
                    {
                        var v = Next();
                        var eq = v.IndexOf('=', StringComparison.Ordinal);
                        if (eq <= 0)
                        {
                            throw new ArgumentException($"--target expects NAME=URL, got '{v}'");
                        }
                        o.Targets.Add(new BenchTarget(v[..eq], CheckUrl(v[(eq + 1)..])));
                        break;
                    }
                case "--concurrency":
                    o.Concurrency.AddRange(Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(s => int.Parse(s, CultureInfo.InvariantCulture)));
                    break;
                case "--duration":
                    o.DurationSeconds = double.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--warmup":
                    o.WarmupSeconds = double.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--timeout":
                    o.TimeoutSeconds = double.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--stream":
                    switch (Next().ToLowerInvariant())
                    {
                        case "both": o.NonStreaming = o.Streaming = true; break;
                        case "true" or "on" or "yes" or "stream": o.NonStreaming = false; o.Streaming = true; break;
                        case "false" or "off" or "no" or "nonstream": o.NonStreaming = true; o.Streaming = false; break;
                        default: throw new ArgumentException("--stream expects both|true|false");
                    }
                    break;
                case "--token":
                    o.Token = Next();
                    break;
                case "--model":
                    o.Model = Next();
                    break;
                case "--protocol":
                    o.Anthropic = Next().ToLowerInvariant() switch
                    {
                        "openai" => false,
                        "anthropic" => true,
                        _ => throw new ArgumentException("--protocol expects openai|anthropic"),
                    };
                    break;
                case "--unique-prompts":
                    o.UniquePrompts = true;
                    break;
                case "--markdown":
                    o.MarkdownPath = Next();
                    break;
                case "-h" or "--help":
                    throw new ArgumentException("help");
                default:
                    throw new ArgumentException($"Unknown argument '{a}'");
            }
        }
        if (o.Targets.Count == 0)
        {
            throw new ArgumentException("At least one --target NAME=URL is required");
        }
        var path = o.Anthropic ? "/messages" : "/chat/completions";
        for (var t = 0; t < o.Targets.Count; t++)
        {
            var s = o.Targets[t].Url.ToString().TrimEnd('/');
            o.Targets[t] = o.Targets[t] with { Url = s.EndsWith(path, StringComparison.OrdinalIgnoreCase) ? new Uri(s) : new Uri(s + path) };
        }
        if (o.Concurrency.Count == 0)
        {
            o.Concurrency.AddRange([1, 16, 128]);
        }
        if (o.Concurrency.Any(c => c < 1) || o.DurationSeconds <= 0 || o.DurationSeconds > 3600 || o.WarmupSeconds < 0 || o.WarmupSeconds > 600)
        {
            throw new ArgumentException("concurrency must be >= 1, 0 < duration <= 3600, 0 <= warmup <= 600");
        }
        return o;
    }

    private static Uri CheckUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"Invalid target URL '{url}'");
        }
        if (!IsLoopback(uri))
        {
            throw new ArgumentException($"Refusing non-loopback target '{url}': the benchmark only drives 127.0.0.1/::1/localhost");
        }
        return uri;
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.DnsSafeHost, out var ip) && IPAddress.IsLoopback(ip));
}
