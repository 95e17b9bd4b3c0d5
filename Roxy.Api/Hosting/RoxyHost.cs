using Roxy.Api.Apis;
using Roxy.Api.Apis.Admin;
using Roxy.Api.Configuration;
using Roxy.Api.Extensions;
using Roxy.Api.Observability;
using Roxy.Api.Secrets;
using Roxy.Grains.Hosting;
using Roxy.Grains.Hosting.Dashboard;
using Scalar.AspNetCore;

namespace Roxy.Api.Hosting;

/// <summary>
/// Builds a Roxy process: load and validate the config (refusing to start on any problem), make sure the
/// PostgreSQL schema exists, then wire Orleans (co-hosted silo or client), the proxy and the endpoints.
/// </summary>
public static class RoxyHost
{
    public static async Task<WebApplication> CreateAsync(RoxyHostSettings settings, string[]? args = null)
    {
        var load = ConfigLoader.Load(settings.ConfigPath, settings.Environment);
        var problems = new List<string>(load.Errors);
        var postgres = settings.Environment.GetValueOrDefault("ROXY_POSTGRES")?.Trim();
        if (string.IsNullOrWhiteSpace(postgres))
        {
            problems.Add("ROXY_POSTGRES: not set; it must be an Npgsql connection string (scripts/run.sh starts a private PostgreSQL and sets it)");
        }

        // A master key that is set but unusable is a mistake to stop on; a missing one only disables run-time keys.
        var protector = new SecretProtector(settings.Environment);
        if (!string.IsNullOrEmpty(settings.Environment.GetValueOrDefault(SecretProtector.MasterKeyVariable))
            && protector.ConfigurationProblem is { } masterKeyProblem)
        {
            problems.Add(masterKeyProblem);
        }

        if (problems.Count > 0 || load.Config is null)
        {
            throw new RoxyStartupException(problems.Count > 0 ? problems : ["configuration could not be loaded"]);
        }

        var config = load.Config;
        var coHosted = config.Raw.Cluster.Mode != "cluster";
        var dashboard = DashboardOf(config.Raw.Cluster.Dashboard, coHosted, settings.Environment);
        if (dashboard.Problem("cluster.dashboard.host") is { } dashboardProblem)
        {
            throw new RoxyStartupException([dashboardProblem]);
        }

        try
        {
            await PostgresStartup.EnsureSchemaAsync(
                postgres!, TimeSpan.FromSeconds(config.Raw.Server.StartupWaitSec), line => Console.Error.WriteLine($"roxy: {line}"));
        }
        catch (PostgresUnavailableException ex)
        {
            throw new RoxyStartupException([$"ROXY_POSTGRES: {ex.Message}"]);
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args ?? [] });
        var urls = settings.Urls ?? ListenUrl(config.Raw.ListenAddr);
        builder.WebHost.UseUrls(dashboard.Enabled ? $"{urls};{dashboard.ListenUrl}" : urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // Kestrel answers a non-ASCII header value with a bare 400 before Roxy sees the request. Read as Latin-1
            // it reaches Roxy, which answers in OpenAI's shape (such a token simply matches no tenant).
            k.RequestHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
        });
        // Request handling runs on the socket's IO thread instead of hopping to the thread pool: the proxy path
        // is short and never blocks, and the hop cost more than a fifth of Roxy's CPU per request. Work that grows
        // with the body (validation and token counting of large prompts) moves off it (ProxyPipeline).
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(config.Raw.Server.DrainTimeoutSec));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Roxy writes its own line per request; with this category on, hosting also builds an Activity and a log
        // scope for every request, which costs more than the proxying logic itself.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        // Orleans runs its retries through Polly resilience pipelines, which log every attempt under "Polly".
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        builder.Logging.UseRoxyLogging(config.Raw.Logging);

        var cluster = new RoxyClusterOptions
        {
            PostgresConnectionString = postgres!,
            ClusterId = config.Raw.Cluster.ClusterId,
            ServiceId = config.Raw.Cluster.ServiceId,
            SiloPort = config.Raw.Cluster.SiloPort,
            GatewayPort = config.Raw.Cluster.GatewayPort,
            AdvertiseAddress = config.Raw.Cluster.AdvertiseAddress is { Length: > 0 } a && RoxyClusterOptions.TryParseAdvertiseAddress(a, out var ip) ? ip : null,
            CacheMemoryBytes = config.Raw.Server.CacheMemoryBytes,
            Dashboard = dashboard,
        };
        if (coHosted)
        {
            builder.UseOrleans(silo => silo.UseRoxySilo(cluster));
        }
        else
        {
            builder.UseOrleansClient(client => client.UseRoxyClient(cluster));
        }

        builder.AddRoxyServices(config, settings.Environment, new RoxyRuntime(postgres!, settings.ConfigPath, DateTimeOffset.UtcNow, coHosted));
        foreach (var warning in load.Warnings)
        {
            Console.Error.WriteLine($"warning: {warning}");
        }

        if (config.Raw.Cluster.Dashboard.Enabled && !coHosted)
        {
            Console.Error.WriteLine($"warning: cluster.dashboard is on, but a frontend in cluster mode hosts no silo: the dashboard is served by the Roxy.Silo processes ({RoxyDashboardOptions.EnabledVariable}=true on every one)");
        }

        if (!protector.CanEncrypt)
        {
            Console.Error.WriteLine($"warning: {SecretProtector.MasterKeyVariable} is not set: provider keys cannot be added at run time (#roxy add key); keys from the environment and the config work as usual");
        }

        settings.Configure?.Invoke(builder);
        var app = builder.Build();
        if (dashboard.Enabled)
        {
            app.MapRoxyDashboard(dashboard, sharesApp: true);
        }

        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference("/scalar");
        app.MapHealthApi();
        app.MapRoxyMetrics(config);
        app.MapChatCompletionsApi();
        app.MapEmbeddingsApi();
        app.MapMessagesApi();
        app.MapModelsApi();
        app.MapAdminApi();
        app.MapFallbackApi();
        return app;
    }

    /// <summary>The co-hosted silo's dashboard; a frontend in cluster mode has no silo, so none.</summary>
    private static RoxyDashboardOptions DashboardOf(DashboardConfig config, bool coHosted, IReadOnlyDictionary<string, string?> environment) => new()
    {
        Enabled = config.Enabled && coHosted,
        Host = config.Host,
        Port = config.Port,
        OperatorTokenSha256 = RoxyDashboardOptions.HashOf(environment.GetValueOrDefault(RoxyDashboardOptions.TokenVariable)),
    };

    /// <summary><c>:8080</c> listens on every interface; <c>host:port</c> on that host.</summary>
    public static string ListenUrl(string listenAddr)
    {
        var colon = listenAddr.LastIndexOf(':');
        var host = colon <= 0 ? "0.0.0.0" : listenAddr[..colon];
        var port = listenAddr[(colon + 1)..];
        return $"http://{(host is "0.0.0.0" or "*" ? "0.0.0.0" : host)}:{port}";
    }
}
