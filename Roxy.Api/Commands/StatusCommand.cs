using System.Globalization;
using System.Reflection;
using System.Text;
using Roxy.Api.Caching;
using Roxy.Api.Configuration;
using Roxy.Api.Hosting;
using Roxy.Api.Pricing;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Api.Usage;
using Roxy.Grains;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Commands;

public sealed class StatusCommand(
    RoxyRuntime runtime, ResolvedConfig config, IGrainFactory grains, RotationGrains rotations, CacheStatsRecorder cacheStats,
    UsageReports usage, RuleCache rules, ModelPrices prices) : IRoxyCommand
{
    private static readonly string Version =
        typeof(StatusCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "dev";

    public string Name => "status";
    public string Syntax => "#roxy status";
    public string Summary => "Version, uptime, silos, keys per provider (active / cooling / disabled) and their use in the last minute, the prompt cache.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        var now = context.Time.GetUtcNow();
        var uptime = now - runtime.StartedAt;
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        var applied = await grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry).GetConfigFingerprintAsync();
        var snapshot = await context.Tenant.GetSnapshotAsync();
        var usage = await KeyUsages.ForAsync(rotations, context.Identity.TenantId, snapshot.Keys);

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"**Roxy {Version}** · up {(int)uptime.TotalDays}d {uptime:hh\\:mm\\:ss} · {hosts.Count} silo(s) · tenant `{context.Identity.TenantId}`\n\n");
        text.Append(runtime.CoHostedSilo ? "Deployment: single process (co-hosted silo).\n" : "Deployment: cluster (this frontend is an Orleans client).\n");
        text.Append(applied == config.Fingerprint
            ? "Configuration: this process runs the applied config.\n"
            : $"⚠️ Configuration drift: this process's config ({config.Fingerprint[..12]}) differs from the applied one ({applied?[..Math.Min(12, applied.Length)] ?? "none"}).\n");

        text.Append("\n| provider | active | cooling | disabled | requests (last min) | tokens (last min) |\n|---|---:|---:|---:|---:|---:|\n");
        foreach (var group in snapshot.Keys.GroupBy(k => k.Provider).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            int active = 0, cooling = 0, disabled = 0;
            long requests = 0, tokens = 0;
            foreach (var key in group)
            {
                usage.TryGetValue(key.Id, out var use);
                var state = KeyUsages.State(key, use, now);
                if (state.StartsWith("disabled", StringComparison.Ordinal))
                {
                    disabled++;
                }
                else if (state.StartsWith("cooling", StringComparison.Ordinal))
                {
                    cooling++;
                }
                else
                {
                    active++;
                }

                requests += use?.RequestsInWindow ?? 0;
                tokens += use?.TokensInWindow ?? 0;
            }

            text.Append(CultureInfo.InvariantCulture, $"| {group.Key} | {active} | {cooling} | {disabled} | {requests} | {tokens} |\n");
        }

        if (snapshot.Keys.Count == 0)
        {
            text.Append("| (no keys) | | | | | |\n");
        }

        var cache = snapshot.Cache;
        text.Append(CultureInfo.InvariantCulture,
            $"\nPrompt cache: {(cache.Enabled ? "enabled" : "disabled")}, mode {(cache.DeterministicOnly ? "deterministic" : "all")}, TTL {cache.TtlSec}s · ");
        try
        {
            var stats = await CacheStatsCommand.ReadAsync(grains, cacheStats, context.Identity.TenantId, snapshot.CacheGeneration);
            text.Append(CultureInfo.InvariantCulture,
                $"{stats.Entries} entries ({CacheStatsCommand.Bytes(stats.Bytes)}) · hit ratio {CacheStatsCommand.Ratio(stats)} ({stats.Hits} hits, {stats.Misses} misses). Details: `#roxy cache stats`.\n");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Counting entries reads PostgreSQL: when it is down, status is what an operator reaches for, so it still answers.
            text.Append(CultureInfo.InvariantCulture, $"stats unavailable ({ex.GetType().Name}).\n");
        }
        await AppendSpendAsync(text, context, snapshot, now);
        return CommandReply.Ok(text.ToString());
    }

    /// <summary>Spend and savings today, and the models that answered today or that a rule targets but have no price.</summary>
    private async Task AppendSpendAsync(StringBuilder text, CommandContext context, TenantSnapshot snapshot, DateTimeOffset now)
    {
        var unpriced = new SortedSet<string>(StringComparer.Ordinal);
        try
        {
            var today = await usage.BuildAsync(context.Identity.TenantId, UsageReports.Day, now);
            text.Append(CultureInfo.InvariantCulture,
                $"\nSpend today: {UsageCommand.Usd(today.Total.CostUsd)} (cache saved {UsageCommand.Usd(today.Total.SavedUsd)}) · {today.Total.Requests} requests. Details: `#roxy usage`.\n");
            unpriced.UnionWith(today.Unpriced);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            text.Append(CultureInfo.InvariantCulture, $"\nSpend today: unavailable ({ex.GetType().Name}).\n");
        }

        foreach (var rule in await rules.GetAllAsync(snapshot))
        {
            foreach (var target in rule.Targets)
            {
                if (prices.Find(target.Provider, target.Model) is null)
                {
                    unpriced.Add(target.Provider is null ? target.Model : $"{target.Provider}:{target.Model}");
                }
            }
        }

        if (unpriced.Count > 0)
        {
            text.Append("No price (costs $0): ").AppendJoin(", ", unpriced.Select(Markdown.Code)).Append(". Add them under `prices:` in the config.\n");
        }
    }
}
