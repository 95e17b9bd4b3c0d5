using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Roxy.Grains;
using Roxy.Grains.Caching;
using Roxy.Grains.Rotation;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;

// The rotation grain's cost per request, as the proxy pays it in single-process mode: one AcquireAsync from
// outside the grain (a co-hosted caller), plus the usage report, measured as wall time and as process CPU; then the
// same through credits (one TopUpAsync for up to 64 requests, each credit's Unused report riding along with the next).
// Each cell runs once per pool size, interleaved, so a pool of many keys is compared with a pool of a few in one run.
// Storage is in memory here: nothing on this path touches PostgreSQL.
// Usage: Roxy.GrainBench [seconds per cell, default 5] [pool sizes, default 4,1000]
var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var pools = args.Length > 1
    ? args[1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()
    : [4, 1000];
const string nowhere = "Host=127.0.0.1;Port=1";
var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering();
    silo.AddMemoryGrainStorage(RoxyStorage.Name);
    silo.Services.TryAddSingleton(TimeProvider.System);
    // The tenant grain takes the audit log and the cache store; applying config uses neither, so they never connect.
    silo.Services.AddSingleton(_ => new AuditLog(NpgsqlDataSource.Create(nowhere), "bench"));
    silo.Services.AddSingleton(_ => new PromptCacheStore(NpgsqlDataSource.Create(nowhere), "bench"));
});
using var host = builder.Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IGrainFactory>();

var rotations = new Dictionary<int, IRotationGrain>();
foreach (var size in pools)
{
    var tenant = $"bench-{size}";
    var keys = Enumerable.Range(1, size).Select(i => new ProviderKey(
        $"k-{i:D10}", "openai", $"fp{size}-{i}", KeySource.Config, $"KEY_{size}_{i}", "sk-…", int.MaxValue / 2, int.MaxValue / 2, 60, Owner.Config, true, null)).ToArray();
    await grains.GetGrain<ITenantGrain>(tenant).ApplyConfigAsync(
        new TenantConfigSnapshot(tenant, [], keys, Array.Empty<ModelRule>(), new CacheSettings(false, 60, false), true));
    rotations[size] = grains.GetGrain<IRotationGrain>(GrainKeys.Rotation(tenant, "openai"));
}

Console.WriteLine("| path | callers | keys | requests per second | mean µs per request (wall) | CPU µs per request | CPU vs the first pool |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
foreach (var credits in new[] { false, true })
{
    foreach (var callers in new[] { 1, 16, 64 })
    {
        double? baseline = null;
        foreach (var size in pools)
        {
            var rotation = rotations[size];
            await RunAsync(rotation, callers, credits, TimeSpan.FromSeconds(1)); // warm-up
            var (count, wall, cpu) = await RunAsync(rotation, callers, credits, TimeSpan.FromSeconds(seconds));
            var perRequest = cpu.TotalMicroseconds / count;
            baseline ??= perRequest;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(credits ? "credits" : "acquire")} | {callers} | {size} | {count / wall.TotalSeconds:F0} | {wall.TotalMicroseconds * callers / count:F2} | {perRequest:F2} | {perRequest / baseline:F2} |"));
        }
    }
}

await host.StopAsync();

static async Task<(long Count, TimeSpan Wall, TimeSpan Cpu)> RunAsync(IRotationGrain rotation, int callers, bool credits, TimeSpan duration)
{
    long total = 0;
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var started = Stopwatch.GetTimestamp();
    var until = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
    {
        long n = 0;
        UsageReport[]? pending = null;
        while (Stopwatch.GetTimestamp() < until)
        {
            if (credits)
            {
                // As a busy frontend's channel does it: a top-up of 64, each credit spent by one request; the usage
                // reports of the previous batch ride along.
                var granted = await rotation.TopUpAsync(new CreditRequest(KeyCredit.MaxPerTopUp, 200, pending));
                pending = [.. granted.Select(c => new UsageReport(c.Key.Id, c.LeaseId, 150, UpstreamOutcome.Success, null, null, null, null))];
                n += granted.Count;
                if (granted.Count == 0)
                {
                    throw new InvalidOperationException("The pool granted no credits: the bench's keys should have room for any load.");
                }
            }
            else
            {
                // As the frontend does it without credits: the previous success report rides along with the next acquire.
                var lease = await rotation.AcquireAsync(new AcquireRequest(200, null, pending));
                pending = [new UsageReport(lease.Key!.Id, lease.LeaseId, 150, UpstreamOutcome.Success, null, null, null, null)];
                n++;
            }
        }

        Interlocked.Add(ref total, n);
    })));
    var wall = Stopwatch.GetElapsedTime(started);
    return (total, wall, Process.GetCurrentProcess().TotalProcessorTime - cpuBefore);
}
