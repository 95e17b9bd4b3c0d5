using System.Globalization;
using System.Net;
using System.Text;
using Roxy.Bench;

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
{
    if (ex.Message != "help")
    {
        Console.Error.WriteLine(ex.Message);
    }
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var maxConcurrency = options.Concurrency.Max();
using var handler = new SocketsHttpHandler
{
    MaxConnectionsPerServer = maxConcurrency + 8,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    AutomaticDecompression = DecompressionMethods.None,
    UseProxy = false,
    UseCookies = false,
    AllowAutoRedirect = false,
    ConnectTimeout = TimeSpan.FromSeconds(5),
};
using var client = new HttpClient(handler, disposeHandler: false)
{
    Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
    DefaultRequestVersion = HttpVersion.Version11,
    DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
};

if (options.CreateTenants is { } tenants)
{
    return await TenantSetup.RunAsync(client, options, tenants);
}

if (options.SoakSeconds is { } soak)
{
    return await SoakRunner.RunAsync(client, options, soak);
}

var runner = new LoadRunner(client, options);
var modes = new List<bool>();
if (options.NonStreaming)
{
    modes.Add(false);
}
if (options.Streaming)
{
    modes.Add(true);
}

Console.Error.WriteLine($"Roxy.Bench: targets {string.Join(", ", options.Targets.Select(t => $"{t.Name}={t.Url}"))}; concurrency {string.Join(",", options.Concurrency)}; duration {options.DurationSeconds}s, warmup {options.WarmupSeconds}s; {Environment.ProcessorCount} CPUs");
var results = new List<RunResult>();
var cell = 0;
foreach (var concurrency in options.Concurrency)
{
    foreach (var stream in modes)
    {
        // Interleave targets per level so each sees the same machine conditions.
        foreach (var target in options.Targets)
        {
            if (options.WarmupSeconds > 0)
            {
                await runner.RunAsync(target, stream, concurrency, TimeSpan.FromSeconds(options.WarmupSeconds), record: false);
            }
            var r = await runner.RunAsync(target, stream, concurrency, TimeSpan.FromSeconds(options.DurationSeconds), record: true) with { Cell = cell };
            results.Add(r);
            Console.Error.WriteLine($"  {r.Mode,-10} c={r.Concurrency,-4} {r.Target,-12} {r.Rps,10:F0} req/s  p50 {r.P50Ms,8:F3} ms  p99 {r.P99Ms,8:F3} ms{(double.IsNaN(r.CpuUsPerRequest) ? "" : $"  cpu {r.CpuUsPerRequest,7:F1} µs/req")}  errors {r.Errors}{(r.FirstError is null ? "" : $" (first: {r.FirstError})")}{(r.Dropped > 0 ? $" ({r.Dropped} samples beyond capacity)" : "")}");
        }
        cell++;
    }
}

var md = Report.Markdown(results, options);
Console.WriteLine();
Console.WriteLine(md);
if (options.MarkdownPath is not null)
{
    await File.WriteAllTextAsync(options.MarkdownPath, md);
    Console.Error.WriteLine($"Wrote {options.MarkdownPath}");
}
return results.Any(r => r.Requests == 0) ? 1 : 0;

internal static class Report
{
    private static string F(double v, string fmt = "F2") => double.IsNaN(v) ? "-" : v.ToString(fmt, CultureInfo.InvariantCulture);

    public static string Markdown(List<RunResult> results, BenchOptions options)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Closed-loop, {options.DurationSeconds}s per cell after {options.WarmupSeconds}s warm-up, model `{options.Model}`, {Environment.ProcessorCount} CPUs, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        sb.AppendLine();
        var cpu = results.Any(r => !double.IsNaN(r.CpuUsPerRequest));
        sb.AppendLine(cpu
            ? "| mode | concurrency | target | req/s | p50 ms | p99 ms | errors | ttfb p50 ms | CPU µs/req | CPU vs first |"
            : "| mode | concurrency | target | req/s | p50 ms | p99 ms | errors | ttfb p50 ms |");
        sb.AppendLine(cpu ? "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|" : "|---|---:|---|---:|---:|---:|---:|---:|");
        foreach (var group in results.GroupBy(r => r.Cell))
        {
            var first = group.First().CpuUsPerRequest;
            foreach (var r in group)
            {
                var cpuColumns = cpu ? $" {F(r.CpuUsPerRequest, "F1")} | {F(r.CpuUsPerRequest / first)} |" : "";
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Mode} | {r.Concurrency} | {r.Target} | {F(r.Rps, "F0")} | {F(r.P50Ms, "F3")} | {F(r.P99Ms, "F3")} | {r.Errors} | {F(r.TtfbP50Ms, "F3")} |{cpuColumns}");
            }
        }

        var baselineName = options.Targets[0].Name;
        // Targets may share a name; compare by position within each cell instead.
        if (options.Targets.Count > 1)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Added latency vs `{baselineName}`:");
            sb.AppendLine();
            sb.AppendLine("| mode | concurrency | target | added p50 ms | added p99 ms | throughput ratio % |");
            sb.AppendLine("|---|---:|---|---:|---:|---:|");
            foreach (var group in results.GroupBy(r => r.Cell))
            {
                var baseline = group.First();
                foreach (var r in group.Skip(1))
                {
                    var ratio = baseline.Rps > 0 ? r.Rps / baseline.Rps * 100 : double.NaN;
                    sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Mode} | {r.Concurrency} | {r.Target} | {F(r.P50Ms - baseline.P50Ms, "F3")} | {F(r.P99Ms - baseline.P99Ms, "F3")} | {F(ratio, "F1")} |");
                }
            }
        }
        return sb.ToString();
    }
}
