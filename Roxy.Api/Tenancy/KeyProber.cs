using Roxy.Api.Configuration;
using Roxy.Api.Providers;
using Roxy.Api.Secrets;
using Roxy.Grains;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Tenancy;

/// <summary>
/// Brings keys back that a provider refused (401/403, quota): every <c>rotation.probe_interval_sec</c> each such
/// key gets one cheap authenticated request, and is enabled again when the provider accepts it. The tenant grain
/// hands each key to one frontend per interval, so a cluster does not probe the same key several times.
/// </summary>
public sealed class KeyProber(
    ResolvedConfig config,
    TokenAuthenticator directory,
    IGrainFactory grains,
    ProviderRegistry providers,
    SecretResolver secrets,
    TimeProvider time,
    ILogger<KeyProber> logger) : BackgroundService
{
    private readonly TimeSpan _interval = TimeSpan.FromSeconds(config.Raw.Rotation.ProbeIntervalSec);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var tick = _interval < TimeSpan.FromSeconds(10) ? _interval : TimeSpan.FromSeconds(10);
        using var timer = new PeriodicTimer(tick, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var tenantId in directory.TenantIds)
                {
                    await ProbeTenantAsync(tenantId, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task ProbeTenantAsync(string tenantId, CancellationToken cancellationToken)
    {
        try
        {
            var tenant = grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId));
            foreach (var key in await tenant.ClaimProbesAsync(_interval))
            {
                var client = providers.Get(key.Provider);
                var secret = secrets.Resolve(key, tenantId);
                if (client is null || secret is null)
                {
                    continue;
                }

                var probe = await KeyProbe.SendAsync(client, secret, TimeSpan.FromSeconds(15), cancellationToken);
                if (probe.Accepted && await tenant.ReenableRefusedKeyAsync(key.Id))
                {
                    logger.LogInformation("Key {KeyId} of tenant {Tenant} ({Provider}) is accepted again and back in rotation", key.Id, tenantId, key.Provider);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Probing refused keys of tenant {Tenant} failed", tenantId);
        }
    }
}
