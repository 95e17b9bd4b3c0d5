using System.Text.Json;
using Roxy.Api.Apis.Admin;
using Roxy.Api.Caching;
using Roxy.Api.Commands;
using Roxy.Api.Configuration;
using Roxy.Api.Hosting;
using Roxy.Api.Json;
using Roxy.Api.Observability;
using Roxy.Api.Pricing;
using Roxy.Api.Providers;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Api.Secrets;
using Roxy.Api.Tenancy;

namespace Roxy.Api.Extensions;

/// <summary>Every Roxy frontend service, registered in one place.</summary>
public static class RoxyServiceExtensions
{
    public static WebApplicationBuilder AddRoxyServices(
        this WebApplicationBuilder builder, ResolvedConfig config, IReadOnlyDictionary<string, string?> environment, RoxyRuntime runtime)
    {
        var services = builder.Services;
        services.AddSingleton(config);
        services.AddSingleton(runtime);
        services.AddSingleton(environment);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new SecretProtector(environment));
        services.AddSingleton<SecretResolver>();
        services.AddSingleton(new TokenEstimator(config.Raw.Rotation.DefaultMaxTokens));
        services.AddSingleton<ProviderRegistry>();
        services.AddSingleton<TokenAuthenticator>();
        services.AddSingleton<RuleCache>();
        services.AddSingleton<TenantSnapshotCache>();
        services.AddSingleton<Apis.ReadinessCheck>();
        services.AddSingleton<ModelResolver>();
        services.AddSingleton<UpstreamAttempt>();
        services.AddSingleton<RotationGrains>();
        services.AddSingleton<FailoverLoop>();
        services.AddSingleton<PromptCache>();
        services.AddSingleton<ProxyPipeline>();
        services.AddSingleton(ConfiguredPrices.From(config.Raw));
        services.AddSingleton<CacheStatsRecorder>();
        services.AddSingleton<Budgets.BudgetGate>();
        services.AddSingleton<Usage.UsageRecorder>();
        services.AddSingleton<Usage.UsageAccounting>();
        services.AddSingleton<Usage.UsageFlusher>();
        services.AddSingleton<Usage.UsageReports>();
        builder.AddRoxyMetrics(config);
        services.AddSingleton<Tracing.UnsentTraces>();
        services.AddSingleton<Tracing.TraceRecorder>();
        services.AddSingleton<Tracing.TraceFlusher>();
        services.AddSingleton<Observability.RequestObserver>();
        services.AddHostedService<ConfigApplier>();
        services.AddHostedService<RotationReportFlusher>();
        services.AddHostedService<Budgets.BudgetCreditFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<Usage.UsageFlusher>());
        services.AddHostedService<CacheStatsFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<Tracing.TraceFlusher>());
        services.AddHostedService<KeyProber>();
        services.AddHostedService<TenantRefresher>();
        services.AddRoxyCommands();
        services.AddRoxyAdminAuth();
        services.AddSingleton<Administration.TenantAdministration>();
        services.AddSingleton<Administration.TokenAdministration>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, RoxyJsonContext.Default);
            // The context's own snake_case does not carry over to these (camelCase web) options: without this,
            // GET /v1/models said "ownedBy" where OpenAI says "owned_by", and the OpenAPI document "maxTokens".
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        });
        services.AddOpenApi();
        return builder;
    }
}
