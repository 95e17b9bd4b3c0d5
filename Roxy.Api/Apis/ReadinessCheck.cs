using Roxy.Api.Hosting;
using Roxy.Grains;
using Roxy.Grains.Hosting;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Apis;

/// <summary>
/// The readiness answer, worked out by one check at a time and reused for <see cref="Reuse"/> after it ends:
/// <c>/readyz</c> needs no token, and a check per request opened a PostgreSQL connection each (300 concurrent
/// probes took the server from 3 to 53 backends).
/// </summary>
public sealed class ReadinessCheck(IGrainFactory grains, RoxyRuntime runtime, TimeProvider time)
{
    public static readonly TimeSpan Reuse = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private Task<HealthReport>? _current;
    private long _endedAt;
    private long _checks;

    /// <summary>How many checks ran (for tests: probes share them).</summary>
    internal long Checks => Interlocked.Read(ref _checks);

    public Task<HealthReport> GetAsync()
    {
        lock (_gate)
        {
            if (_current is { } current && (!current.IsCompleted || time.GetElapsedTime(Volatile.Read(ref _endedAt)) < Reuse))
            {
                return current;
            }

            _checks++;
            return _current = CheckAsync();
        }
    }

    // Not cancelled by the probe that started it: other probes wait for the same answer. Both steps have their own bound.
    private async Task<HealthReport> CheckAsync()
    {
        string orleans;
        try
        {
            await grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry).GetVersionAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(3));
            orleans = "ok";
        }
        catch (Exception)
        {
            orleans = "unreachable";
        }

        var postgres = await PostgresSchema.PingAsync(runtime.PostgresConnectionString, TimeSpan.FromSeconds(2), CancellationToken.None) ? "ok" : "degraded";
        Volatile.Write(ref _endedAt, time.GetTimestamp());
        return new HealthReport(orleans != "ok" ? "unready" : postgres == "ok" ? "ready" : "degraded", orleans, postgres);
    }
}
