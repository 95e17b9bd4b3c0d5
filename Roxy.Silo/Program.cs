using Microsoft.Extensions.Logging;
using Roxy.Grains.Hosting;

// A silo of a Roxy cluster: grains only, no HTTP. Frontends (Roxy.Api in cluster mode) connect as clients.
var (options, errors) = RoxyClusterOptions.FromEnvironment(Environment.GetEnvironmentVariable);
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

var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleans(silo => silo.UseRoxySilo(options));
// ROXY_LOG_FORMAT=json: the frontends' logging.format for a process without a config file.
if (Environment.GetEnvironmentVariable("ROXY_LOG_FORMAT")?.Trim() == "json")
{
    builder.Logging.AddJsonConsole(o => (o.UseUtcTimestamp, o.TimestampFormat) = (true, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'"));
}

builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
await builder.Build().RunAsync();
return 0;
