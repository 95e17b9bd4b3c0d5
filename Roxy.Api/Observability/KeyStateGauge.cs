using System.Diagnostics.Metrics;
using Roxy.Api.Tenancy;
using Roxy.Grains;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Observability;

/// <summary>
/// The <c>roxy.keys</c> gauge: how many keys each provider has active, cooling and disabled, across tenants. A scrape
/// reads the last count and, when it is older than <see cref="MaxAge"/>, starts a new one in the background (tenant
/// snapshots and each rotation grain's usage): the gauge's callback must not wait on a grain, and a frontend nobody
/// scrapes makes no calls at all.
/// </summary>
public sealed class KeyStateGauge(IGrainFactory grains, TokenAuthenticator tokens, MetricLabels labels, TimeProvider time, ILogger<KeyStateGauge> logger)
{
    public const string Active = "active";
    public const string Cooling = "cooling";
    public const string Disabled = "disabled";

    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);
    private static readonly string[] States = [Active, Cooling, Disabled];

    private Measurement<long>[] _last = [];
    private long _readAt;
    private int _reading;

    /// <summary>The gauge's callback: the last count, and a new one started when it is stale.</summary>
    public IEnumerable<Measurement<long>> Observe()
    {
        var readAt = Interlocked.Read(ref _readAt);
        if ((readAt == 0 || time.GetElapsedTime(readAt) >= MaxAge) && Interlocked.CompareExchange(ref _reading, 1, 0) == 0)
        {
            _ = Task.Run(ReadAsync);
        }

        return Volatile.Read(ref _last);
    }

    private async Task ReadAsync()
    {
        try
        {
            var counts = new Dictionary<(string Provider, string State), long>();
            var now = time.GetUtcNow();
            foreach (var tenantId in tokens.TenantIds.ToArray())
            {
                var snapshot = await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId)).GetSnapshotAsync();
                foreach (var provider in snapshot.Keys.Select(k => k.Provider).Distinct(StringComparer.Ordinal))
                {
                    var usage = (await grains.GetGrain<IRotationGrain>(GrainKeys.Rotation(tenantId, provider)).GetUsageAsync())
                        .ToDictionary(u => u.KeyId, StringComparer.Ordinal);
                    var label = labels.Provider(provider);
                    foreach (var state in States)
                    {
                        counts.TryAdd((label, state), 0);
                    }

                    foreach (var key in snapshot.Keys.Where(k => k.Provider == provider))
                    {
                        counts[(label, StateOf(key, usage.GetValueOrDefault(key.Id), now))]++;
                    }
                }
            }

            Volatile.Write(ref _last, [.. counts.Select(c => new Measurement<long>(
                c.Value, new KeyValuePair<string, object?>("roxy.provider", c.Key.Provider), new KeyValuePair<string, object?>("roxy.key.state", c.Key.State)))]);
            Interlocked.Exchange(ref _readAt, time.GetTimestamp());
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The previous count stays; the next scrape tries again.
            logger.LogWarning(ex, "Could not read key states for the roxy.keys gauge");
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    /// <summary>Disabled (by an admin, or the provider refused it), cooling after a rate limit, or active.</summary>
    public static string StateOf(ProviderKey key, KeyUsage? usage, DateTimeOffset now)
    {
        if (!key.Enabled || usage?.DisabledReason is not null)
        {
            return Disabled;
        }

        return usage?.CoolingUntil is { } until && until > now ? Cooling : Active;
    }
}
