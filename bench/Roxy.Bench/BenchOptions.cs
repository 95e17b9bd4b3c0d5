using System.Globalization;
using System.Net;

namespace Roxy.Bench;

/// <summary>
/// A target to drive. <paramref name="Tokens"/>: tokens its requests cycle over (null: the shared <c>--token</c>);
/// <paramref name="Pid"/>: a process whose CPU time per request is reported for the target's runs.
/// </summary>
internal sealed record BenchTarget(string Name, Uri Url, string[]? Tokens = null, int? Pid = null);

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

    /// <summary>Extra request headers (<c>--header "Name: value"</c>), e.g. <c>Cache-Control: no-store</c>.</summary>
    public List<(string Name, string Value)> Headers { get; } = [];

    /// <summary>Soak mode: this many seconds of mixed traffic instead of the cells (see <see cref="SoakRunner"/>).</summary>
    public double? SoakSeconds { get; set; }

    /// <summary>Soak: requests per second across all workers (open loop, paced).</summary>
    public double SoakRate { get; set; } = 200;

    /// <summary>Soak: distinct prompts, each bound to one of the target's tokens.</summary>
    public int SoakPrompts { get; set; } = 10_000;

    /// <summary>Soak: seconds between two samples of the target process's RSS.</summary>
    public double SampleSeconds { get; set; } = 30;

    /// <summary>Setup mode: create this many tenants through the admin API, each with a key and a member token.</summary>
    public int? CreateTenants { get; set; }

    public string? AdminToken { get; set; }
    public string TenantPrefix { get; set; } = "scale";
    public string? TokensOut { get; set; }

    private readonly Dictionary<string, string[]> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _pids = new(StringComparer.Ordinal);

    public const string Usage = """
        Usage: Roxy.Bench --target NAME=URL [--target NAME=URL ...] [--concurrency 1,16,128]
                          [--duration 10] [--warmup 2] [--stream both|true|false] [--token TOKEN]
                          [--model gpt-4o-mini] [--markdown out.md] [--timeout 30] [--protocol openai|anthropic]
                          [--unique-prompts] [--header "Name: value"] [--tokens NAME=FILE] [--pid NAME=PID]
               Roxy.Bench --target NAME=URL --tokens NAME=FILE --soak SECONDS [--rate 200] [--prompts 10000]
                          [--sample-every 30] [--pid NAME=PID]
               Roxy.Bench --target NAME=URL --create-tenants N --admin-token T --tokens-out FILE [--tenant-prefix scale]
          URL is a loopback base URL such as http://127.0.0.1:9100/v1 (/chat/completions, or /messages for
          --protocol anthropic, is appended unless the URL already ends with it). Targets are run in the order
          given; the first is the baseline. --tokens makes a target's requests cycle over the tokens in FILE (one a
          line); --pid reports that process's CPU time per request (from /proc) for the target's runs. --soak drives
          mixed traffic (chat and streaming, prompts repeating so the cache both hits and misses) at --rate requests/s
          and samples the --pid process's RSS every --sample-every seconds. --create-tenants makes N runtime tenants on
          the first target's Roxy, each with an OpenAI key and a member token, and writes the tokens to --tokens-out.
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
                case "--header":
                    {
                        var v = Next();
                        var colon = v.IndexOf(':', StringComparison.Ordinal);
                        if (colon <= 0)
                        {
                            throw new ArgumentException($"--header expects \"Name: value\", got '{v}'");
                        }
                        o.Headers.Add((v[..colon].Trim(), v[(colon + 1)..].Trim()));
                        break;
                    }
                case "--tokens":
                    {
                        var (name, file) = NameValue(a, Next());
                        var tokens = File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
                        if (tokens.Length == 0)
                        {
                            throw new ArgumentException($"--tokens: {file} holds no token");
                        }
                        o._tokens[name] = tokens;
                        break;
                    }
                case "--pid":
                    {
                        var (name, pid) = NameValue(a, Next());
                        o._pids[name] = int.Parse(pid, CultureInfo.InvariantCulture);
                        break;
                    }
                case "--soak":
                    o.SoakSeconds = double.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--rate":
                    o.SoakRate = double.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--prompts":
                    o.SoakPrompts = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--sample-every":
                    o.SampleSeconds = double.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--create-tenants":
                    o.CreateTenants = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--admin-token":
                    o.AdminToken = Next();
                    break;
                case "--tenant-prefix":
                    o.TenantPrefix = Next();
                    break;
                case "--tokens-out":
                    o.TokensOut = Next();
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
            o.Targets[t] = o.Targets[t] with
            {
                Url = s.EndsWith(path, StringComparison.OrdinalIgnoreCase) ? new Uri(s) : new Uri(s + path),
                Tokens = o._tokens.GetValueOrDefault(o.Targets[t].Name),
                Pid = o._pids.TryGetValue(o.Targets[t].Name, out var pid) ? pid : null,
            };
        }
        if (o.Concurrency.Count == 0)
        {
            o.Concurrency.AddRange([1, 16, 128]);
        }
        foreach (var name in o._tokens.Keys.Concat(o._pids.Keys).Where(n => o.Targets.All(t => t.Name != n)))
        {
            throw new ArgumentException($"--tokens/--pid name no target: '{name}'");
        }
        if (o.SoakSeconds is { } soak && (soak <= 0 || o.SoakRate <= 0 || o.SoakPrompts < 1 || o.SampleSeconds <= 0 || o.Targets[0].Tokens is null))
        {
            throw new ArgumentException("--soak needs seconds > 0, --rate > 0, --prompts >= 1, --sample-every > 0 and --tokens for its target");
        }
        if (o.CreateTenants is { } n && (n < 1 || o.AdminToken is null || o.TokensOut is null))
        {
            throw new ArgumentException("--create-tenants needs N >= 1, --admin-token and --tokens-out");
        }
        if (o.Concurrency.Any(c => c < 1) || o.DurationSeconds <= 0 || o.DurationSeconds > 3600 || o.WarmupSeconds < 0 || o.WarmupSeconds > 600)
        {
            throw new ArgumentException("concurrency must be >= 1, 0 < duration <= 3600, 0 <= warmup <= 600");
        }
        return o;
    }

    private static (string Name, string Value) NameValue(string option, string v)
    {
        var eq = v.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 ? (v[..eq], v[(eq + 1)..]) : throw new ArgumentException($"{option} expects NAME=VALUE, got '{v}'");
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
