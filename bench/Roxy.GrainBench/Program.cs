using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Roxy.Grains;
using Roxy.Grains.Rotation;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;

// The rotation grain's cost per request, as the proxy pays it in single-process mode: one AcquireAsync from
// outside the grain (a co-hosted caller), plus the usage report, measured as wall time and as process CPU.
// Storage is in memory here: nothing on this path touches PostgreSQL.
var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering();
    silo.AddMemoryGrainStorage(RoxyStorage.Name);
    silo.Services.TryAddSingleton(TimeProvider.System);
});
using var host = builder.Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IGrainFactory>();

var keys = Enumerable.Range(1, 4).Select(i => new ProviderKey(
    $"k-{i:D10}", "openai", $"fp{i}", KeySource.Config, $"KEY_{i}", "sk-…", int.MaxValue / 2, int.MaxValue / 2, 60, Owner.Config, true, null)).ToArray();
await grains.GetGrain<ITenantGrain>("bench").ApplyConfigAsync(
    new TenantConfigSnapshot("bench", [], keys, Array.Empty<ModelRule>(), new CacheSettings(false, 60, false), true));
var rotation = grains.GetGrain<IRotationGrain>(GrainKeys.Rotation("bench", "openai"));

Console.WriteLine("| callers | acquire+report per second | mean µs per request (wall) | CPU µs per request |");
Console.WriteLine("|---:|---:|---:|---:|");
foreach (var callers in new[] { 1, 16, 64 })
{
    await RunAsync(callers, TimeSpan.FromSeconds(1)); // warm-up
    var (count, wall, cpu) = await RunAsync(callers, TimeSpan.FromSeconds(seconds));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {callers} | {count / wall.TotalSeconds:F0} | {wall.TotalMicroseconds * callers / count:F1} | {cpu.TotalMicroseconds / count:F1} |"));
}

await host.StopAsync();

async Task<(long Count, TimeSpan Wall, TimeSpan Cpu)> RunAsync(int callers, TimeSpan duration)
{
    long total = 0;
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var started = Stopwatch.GetTimestamp();
    var until = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
    {
        long n = 0;
        UsageReport? pending = null;
        while (Stopwatch.GetTimestamp() < until)
        {
            // As the frontend does it: the previous success report rides along with the next acquire.
            var lease = await rotation.AcquireAsync(new AcquireRequest(200, null, pending is null ? null : [pending]));
            pending = new UsageReport(lease.Key!.Id, lease.LeaseId, 150, UpstreamOutcome.Success, null, null, null, null);
            n++;
        }

        Interlocked.Add(ref total, n);
    })));
    var wall = Stopwatch.GetElapsedTime(started);
    return (total, wall, Process.GetCurrentProcess().TotalProcessorTime - cpuBefore);
}
