using Roxy.Grains.Hosting;
using Roxy.Grains.Hosting.Dashboard;

// A silo of a Roxy cluster: grains only. Frontends (Roxy.Api in cluster mode) connect as clients. With the dashboard
// on (ROXY_DASHBOARD=true) it also runs a small web host for the dashboard alone; otherwise it serves no HTTP at all.
var (options, errors) = RoxyClusterOptions.FromEnvironment(Environment.GetEnvironmentVariable);
var logFormat = Environment.GetEnvironmentVariable("ROXY_LOG_FORMAT")?.Trim() is { Length: > 0 } f ? f : "text";
if (logFormat is not ("text" or "json"))
{
    errors = [.. errors, $"ROXY_LOG_FORMAT: '{logFormat}' is not one of text, json"];
    options = null;
}

if (options is null)
{
    foreach (var error in errors)
    {
        Console.Error.WriteLine(error);
    }

    return 2;
}

try
{
    await PostgresStartup.EnsureSchemaAsync(options.PostgresConnectionString, options.StartupWait, line => Console.Error.WriteLine($"roxy-silo: {line}"));
}
catch (PostgresUnavailableException ex)
{
    Console.Error.WriteLine($"ROXY_POSTGRES: {ex.Message}");
    Console.Error.WriteLine("roxy-silo: not started (1 problem)");
    return 2;
}

if (options.Dashboard.Enabled)
{
    var web = WebApplication.CreateBuilder(args);
    web.WebHost.UseUrls(options.Dashboard.ListenUrl);
    ConfigureSilo(web);
    var app = web.Build();
    app.MapRoxyDashboard(options.Dashboard, sharesApp: false);
    Console.Error.WriteLine($"roxy-silo: Orleans dashboard on {options.Dashboard.ListenUrl}{RoxyDashboardOptions.Path}/");
    await app.RunAsync();
    return 0;
}

var builder = Host.CreateApplicationBuilder(args);
ConfigureSilo(builder);
await builder.Build().RunAsync();
return 0;

void ConfigureSilo(IHostApplicationBuilder host)
{
    host.UseOrleans(silo => silo.UseRoxySilo(options));
    host.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
    // The dashboard's web host would log every request; the silo's own warnings are what an operator needs.
    host.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    // ROXY_LOG_FORMAT=json: the frontends' logging.format, for a process without a config file.
    if (logFormat == "json")
    {
        host.Logging.AddJsonConsole(o => (o.UseUtcTimestamp, o.TimestampFormat) = (true, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'"));
    }
}
