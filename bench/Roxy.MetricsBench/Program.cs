// What Roxy's instruments cost per request on the hot path: the calls the request observer makes for one proxied
// request (one upstream attempt, then the request's end), in a loop, with metrics on (an OpenTelemetry MeterProvider
// with the Prometheus exporter listening, as in Roxy) and off (metrics.enabled: false). Reports bytes allocated and
// nanoseconds per request on this thread. Run: dotnet run -c Release --project bench/Roxy.MetricsBench [iterations]
using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Roxy.Api.Configuration;
using Roxy.Api.Observability;
using Roxy.Api.Pricing;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Api.Tenancy;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

var iterations = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 200_000;
Console.WriteLine($"Roxy.MetricsBench: {iterations} requests per cell, {Environment.ProcessorCount} CPUs");
foreach (var enabled in new[] { false, true, false, true })
{
    var (bytes, ns) = Run(enabled, iterations);
    Console.WriteLine($"  metrics {(enabled ? "on " : "off")}: {bytes,8:F1} B/request allocated, {ns,8:F0} ns/request");
}

return 0;

static (double Bytes, double Nanoseconds) Run(bool enabled, int iterations)
{
    var dir = Directory.CreateTempSubdirectory("roxy-metrics-bench-");
    var path = Path.Combine(dir.FullName, "config.yaml");
    File.WriteAllText(path, $$"""
        tokens: [{ token_env: BENCH_TOKEN, role: admin }]
        model_rules: [{ source_model: smart, target_models: [openai:gpt-4o-mini] }]
        metrics: { enabled: {{(enabled ? "true" : "false")}} }
        """);
    var config = ConfigLoader.Load(path, new Dictionary<string, string?> { ["BENCH_TOKEN"] = "bench-token-0123456789" }).Config!;
    dir.Delete(recursive: true);

    var services = new ServiceCollection();
    services.AddMetrics();
    using var provider = services.BuildServiceProvider();
    using var meterProvider = enabled
        ? Sdk.CreateMeterProviderBuilder().AddMeter(RoxyMetrics.MeterName).AddPrometheusExporter().Build()
        : null;
    var labels = new MetricLabels(config, ConfiguredPrices.From(config.Raw));
    // The gauge is read only on a scrape, which this loop never makes.
    var metrics = new RoxyMetrics(provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), config, labels, new KeyStateGauge(null!, null!, labels, TimeProvider.System, null!));

    var body = new PooledBuffer(256);
    var json = Encoding.UTF8.GetBytes("""{"model":"smart","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
    json.CopyTo(body.GetSpan(json.Length));
    body.Advance(json.Length);
    ChatRequestReader.TryRead(body.Span, out var info);
    var request = new ProxyRequest(new DefaultHttpContext(), "req_bench", new TenantIdentity("default", "tok", TenantRole.Admin), body, info);
    var target = new RouteTarget("openai", "gpt-4o-mini");
    request.Route = new ResolvedRoute("smart", "smart", [target]);
    request.Answered = target;
    request.FirstByteAt = Stopwatch.GetTimestamp();
    request.Cost = 0.0001m;
    var result = new AttemptResult { Outcome = UpstreamOutcome.Success, Committed = true, UsageKnown = true, PromptTokens = 12, CompletionTokens = 34 };

    for (var i = 0; i < 10_000; i++)
    {
        OneRequest(metrics, request, target, result);
    }

    var before = GC.GetAllocatedBytesForCurrentThread();
    var started = Stopwatch.GetTimestamp();
    for (var i = 0; i < iterations; i++)
    {
        OneRequest(metrics, request, target, result);
    }

    var elapsed = Stopwatch.GetElapsedTime(started);
    var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
    return ((double)allocated / iterations, elapsed.TotalNanoseconds / iterations);
}

static void OneRequest(RoxyMetrics metrics, ProxyRequest request, RouteTarget target, AttemptResult result)
{
    metrics.AttemptEnded(request, target, result, Stopwatch.GetTimestamp());
    metrics.RequestCompleted(request, 200);
}
