using Roxy.Api.Configuration;
using Roxy.Api.Secrets;
using Roxy.Grains;
using Roxy.Grains.Rotation;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Tenancy;

/// <summary>
/// Applies the YAML to the tenant grains at start (idempotent: config-owned items are created, changed or
/// deleted; runtime-owned ones are untouched), then keeps this frontend's token directory fresh. Every step can be
/// repeated, so a start that dies halfway is finished by the next one: dropped tenants stay pending in the registry
/// until emptied, and each tenant grain pushes its tokens and keys on every apply.
/// </summary>
public sealed class ConfigApplier(
    ResolvedConfig config,
    IReadOnlyDictionary<string, string?> environment,
    IGrainFactory grains,
    TokenAuthenticator authenticator,
    ILogger<ConfigApplier> logger) : BackgroundService
{
    private static readonly TimeSpan DirectoryRefresh = TimeSpan.FromSeconds(2);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var warmUp = Task.Run(Proxy.TokenEstimator.WarmUp, cancellationToken);
        await ApplyAsync();
        await warmUp;
        await authenticator.RefreshAsync(force: true);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(DirectoryRefresh);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await authenticator.RefreshAsync(force: false);
        }
    }

    public async Task ApplyAsync()
    {
        var registry = grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry);
        var applied = await registry.GetConfigFingerprintAsync();
        if (applied is not null && applied != config.Fingerprint)
        {
            logger.LogWarning(
                "This process's configuration ({New}) differs from the one applied before ({Applied}); applying this one. Every process of a cluster must run the same config.",
                config.Fingerprint[..12], applied[..Math.Min(12, applied.Length)]);
        }

        foreach (var tenant in config.Tenants)
        {
            var result = await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant.Id)).ApplyConfigAsync(ToSnapshot(tenant));
            if (tenant.Tokens.Count == 0)
            {
                logger.LogWarning("Tenant {Tenant} has no tokens and cannot be used; set ROXY_TOKEN (tenant default) or add tokens in the config", tenant.Id);
            }

            logger.LogInformation("Tenant {Tenant}: config applied (+{Added} ~{Changed} -{Removed})", tenant.Id, result.Added, result.Changed, result.Removed);
        }

        var dropped = await registry.SetConfiguredTenantsAsync(config.Tenants.Select(t => t.Id).ToArray(), config.Fingerprint);
        foreach (var tenantId in dropped)
        {
            // A tenant removed from the YAML loses its config-owned items; runtime-owned ones stay.
            await grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenantId)).ApplyConfigAsync(
                new TenantConfigSnapshot(config.Fingerprint, [], [], [], new CacheSettings(true, 3600, false), true));
            await registry.CompleteRemovalAsync(tenantId);
            logger.LogInformation("Tenant {Tenant} is no longer in the config; its config-owned items were removed", tenantId);
        }
    }

    private TenantConfigSnapshot ToSnapshot(ResolvedTenant tenant) => new(
        config.Fingerprint,
        tenant.Tokens.Select(t => new TenantToken(t.Id, t.Hash, t.Role == "admin" ? TenantRole.Admin : TenantRole.Member, Owner.Config, Budget: t.Budget)).ToArray(),
        tenant.Keys.Select(k => new ProviderKey(
            k.Id,
            k.Provider,
            k.Fingerprint,
            k.Source == "env" ? KeySource.Env : KeySource.Config,
            k.EnvVar,
            KeyMask.Of(SecretText.Clean(environment.GetValueOrDefault(k.EnvVar) ?? "")),
            k.MaxRpm,
            k.MaxTpm,
            k.CooldownSec,
            Owner.Config,
            Enabled: true,
            DisabledReason: null)).ToArray(),
        tenant.ModelRules.Select(r => new ModelRule(
            r.SourceModel,
            r.Targets.Select(t => new RuleTarget(t.Provider, t.Model)).ToArray(),
            r.Policy switch { "roundrobin" => SelectionPolicy.RoundRobin, "random" => SelectionPolicy.Random, _ => SelectionPolicy.Fallback },
            r.FailoverOnContextLength,
            Owner.Config)).ToArray(),
        new CacheSettings(tenant.Cache.Enabled, tenant.Cache.TtlSec, tenant.Cache.Mode == "deterministic", tenant.Cache.MaxEntryBytes),
        tenant.AllowUnlisted,
        tenant.Budget);
}
