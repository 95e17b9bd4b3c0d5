using Roxy.Api.Configuration;
using Roxy.Api.Providers;
using Roxy.Api.Routing;
using Roxy.Api.Secrets;
using Roxy.Grains;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Tenancy;

/// <summary>
/// Brings keys back that a provider refused (401/403, quota): every <c>rotation.probe_interval_sec</c> each such
/// key gets one cheap authenticated request, and is enabled again when the provider accepts it. The tenant grain
/// hands each key to one frontend per interval (longer for a key that came back and was refused again), so a
/// cluster does not probe the same key several times.
/// <para>
/// An auth-refused key is probed with <c>GET /models</c>: free, and an invalid key fails it too. A quota-refused key
/// is not, because <c>/models</c> is free and answers 200 while the quota is still exhausted (the key would come back
/// every interval and fail a real request each time). It gets the smallest chat completion instead, to the provider's
/// <c>probe_model</c> or the first chat model its tenant routes to that provider: refused (429
/// <c>insufficient_quota</c>, 402) at no cost while the quota lasts, and billed about ten tokens once it is back.
/// </para>
/// </summary>
public sealed class KeyProber(
    ResolvedConfig config,
    TokenAuthenticator directory,
    IGrainFactory grains,
    ProviderRegistry providers,
    ModelResolver models,
    RuleCache rules,
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

                // Without a model to ask for, a quota key falls back to /models; the grain's backoff then bounds
                // how often a wrong 200 can bring it back.
                var model = key.DisabledReason == "quota" ? await ProbeModelAsync(await tenant.GetSnapshotAsync(), client.Settings) : null;
                var probe = await KeyProbe.SendAsync(client, secret, TimeSpan.FromSeconds(15), model, cancellationToken);
                if (probe.Accepted && await tenant.ReenableRefusedKeyAsync(key.Id))
                {
                    logger.LogInformation("Key {KeyId} of tenant {Tenant} ({Provider}) is accepted again and back in rotation", key.Id, tenantId, key.Provider);
                }
                else if (model is not null && probe.Status is 400 or 404 or 422)
                {
                    // The model, not the key: the key can never come back this way. Only the status is logged, never the
                    // provider's text (it can quote the key).
                    logger.LogWarning(
                        "Probe of quota-disabled key {KeyId} of tenant {Tenant} with model {Model} was refused with HTTP {Status}; set providers.{Provider}.probe_model to a chat model this key may use",
                        key.Id, tenantId, model, probe.Status, key.Provider);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Probing refused keys of tenant {Tenant} failed", tenantId);
        }
    }

    /// <summary>The provider's <c>probe_model</c>, else the first rule target of the tenant on that provider that is not an embedding model.</summary>
    internal async Task<string?> ProbeModelAsync(TenantSnapshot tenant, ResolvedProvider provider)
    {
        if (provider.ProbeModel is { } configured)
        {
            return configured;
        }

        foreach (var rule in await rules.GetAllAsync(tenant))
        {
            foreach (var target in rule.Targets)
            {
                if ((target.Provider ?? models.InferProvider(tenant, target.Model)) == provider.Name
                    && !EmbeddingModels.IsEmbeddingModel(target.Model))
                {
                    return target.Model;
                }
            }
        }

        return null;
    }
}
