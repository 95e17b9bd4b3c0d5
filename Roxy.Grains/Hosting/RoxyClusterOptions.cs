using System.Net;

namespace Roxy.Grains.Hosting;

/// <summary>Where the cluster lives: one PostgreSQL for membership and state, and this process's ports.</summary>
public sealed record RoxyClusterOptions
{
    public required string PostgresConnectionString { get; init; }
    public string ClusterId { get; init; } = "roxy";

    /// <summary>Part of every grain's storage key: changing it orphans stored state, so it stays fixed.</summary>
    public string ServiceId { get; init; } = "roxy";

    public int SiloPort { get; init; } = 11111;
    public int GatewayPort { get; init; } = 30000;

    /// <summary>The address other silos and clients reach this silo on; loopback when unset.</summary>
    public IPAddress? AdvertiseAddress { get; init; }

    /// <summary>How long start-up waits for PostgreSQL (<c>ROXY_STARTUP_WAIT_SEC</c>).</summary>
    public TimeSpan StartupWait { get; init; } = PostgresStartup.DefaultWait;

    /// <summary>The bound of this silo's prompt cache memory tier in bytes (<c>ROXY_CACHE_MEMORY_BYTES</c>); 0 keeps none.</summary>
    public long CacheMemoryBytes { get; init; } = Caching.PromptCacheOptions.DefaultMemoryBytes;

    /// <summary>This silo's Orleans dashboard (<c>ROXY_DASHBOARD</c>, <c>ROXY_DASHBOARD_PORT</c>, <c>ROXY_DASHBOARD_HOST</c>); off by default.</summary>
    public Hosting.Dashboard.RoxyDashboardOptions Dashboard { get; init; } = new();

    /// <summary>
    /// Reads <c>ROXY_POSTGRES</c>, <c>ROXY_SILO_PORT</c>, <c>ROXY_GATEWAY_PORT</c>, <c>ROXY_CLUSTER_ID</c>,
    /// <c>ROXY_SERVICE_ID</c>, <c>ROXY_ADVERTISE_ADDRESS</c>, <c>ROXY_STARTUP_WAIT_SEC</c>, <c>ROXY_CACHE_MEMORY_BYTES</c> and the
    /// dashboard's variables; returns one line per problem.
    /// </summary>
    public static (RoxyClusterOptions? Options, IReadOnlyList<string> Errors) FromEnvironment(Func<string, string?> env)
    {
        var errors = new List<string>();
        var cs = env("ROXY_POSTGRES");
        if (string.IsNullOrWhiteSpace(cs))
        {
            errors.Add("ROXY_POSTGRES: not set; it must be an Npgsql connection string (Host=...;Port=...;Username=...;Database=...)");
        }

        var siloPort = Port("ROXY_SILO_PORT", 11111);
        var gatewayPort = Port("ROXY_GATEWAY_PORT", 30000);
        IPAddress? advertise = null;
        var advertiseText = env("ROXY_ADVERTISE_ADDRESS");
        if (!string.IsNullOrWhiteSpace(advertiseText) && !TryParseAdvertiseAddress(advertiseText, out advertise))
        {
            errors.Add($"ROXY_ADVERTISE_ADDRESS: '{advertiseText}' is not an IP address; use an IP address or auto");
        }

        var (wait, waitError) = PostgresStartup.WaitFromEnvironment(env(PostgresStartup.WaitVariable));
        if (waitError is not null)
        {
            errors.Add(waitError);
        }

        var cacheMemory = Caching.PromptCacheOptions.DefaultMemoryBytes;
        var cacheMemoryText = env("ROXY_CACHE_MEMORY_BYTES");
        if (!string.IsNullOrWhiteSpace(cacheMemoryText)
            && !(long.TryParse(cacheMemoryText.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out cacheMemory)))
        {
            errors.Add($"ROXY_CACHE_MEMORY_BYTES: '{cacheMemoryText}' is not a byte count; use a whole number of bytes such as 268435456 (0 keeps no memory tier)");
        }

        var dashboard = Hosting.Dashboard.RoxyDashboardOptions.FromEnvironment(env, errors);
        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new RoxyClusterOptions
        {
            PostgresConnectionString = cs!.Trim(),
            ClusterId = NonEmpty(env("ROXY_CLUSTER_ID"), "roxy"),
            ServiceId = NonEmpty(env("ROXY_SERVICE_ID"), "roxy"),
            SiloPort = siloPort,
            GatewayPort = gatewayPort,
            AdvertiseAddress = advertise,
            StartupWait = wait ?? PostgresStartup.DefaultWait,
            CacheMemoryBytes = cacheMemory,
            Dashboard = dashboard,
        }, errors);

        int Port(string name, int fallback)
        {
            var text = env(name);
            if (string.IsNullOrWhiteSpace(text))
            {
                return fallback;
            }

            if (int.TryParse(text, out var port) && port is > 0 and <= 65535)
            {
                return port;
            }

            errors.Add($"{name}: '{text}' is not a port; use 1-65535");
            return fallback;
        }
    }

    /// <summary>An IP address, or <c>auto</c>: the machine's first non-loopback IPv4 address (containers).</summary>
    public static bool TryParseAdvertiseAddress(string text, out IPAddress? address)
    {
        if (text.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            address = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
            return address is not null;
        }

        return IPAddress.TryParse(text, out address);
    }

    // Trimmed: a secret file's trailing newline in a cluster id would put this process in a cluster of its own.
    private static string NonEmpty(string? value, string fallback) => string.IsNullOrWhiteSpace(value) ? fallback : value.Trim();
}
