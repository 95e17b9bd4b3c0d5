using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;
using Roxy.Grains.Hosting;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// One private PostgreSQL server for the whole test process (or an external one via
/// <c>ROXY_TEST_POSTGRES</c>); tests isolate themselves with <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresServer
{
    public const string ExternalServerVariable = "ROXY_TEST_POSTGRES";

    private static readonly Lazy<Task<PostgresServer>> Instance =
        new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private PostgresServer(string adminConnectionString) => AdminConnectionString = adminConnectionString;

    /// <summary>Connection string to the <c>postgres</c> maintenance database as a superuser.</summary>
    public string AdminConnectionString { get; }

    public static Task<PostgresServer> GetAsync() => Instance.Value;

    /// <summary>Creates an empty database with Roxy's schema applied and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        // Identifiers max out at 63 bytes; Sanitize caps the prefix at 40, plus "_" and 12 hex chars.
        var name = $"{Sanitize(prefix)}_{Guid.NewGuid().ToString("N")[..12]}";

        await using (var admin = new NpgsqlConnection(AdminConnectionString))
        {
            await admin.OpenAsync();
            // template0: nobody ever connects to it, so parallel CREATE DATABASEs cannot trip over
            // "source database is being accessed by other users".
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'", admin);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(AdminConnectionString)
        {
            Database = name,
            Pooling = true,
            MaxPoolSize = 50,
        }.ConnectionString;

        await PostgresSchema.EnsureAsync(connectionString);
        return connectionString;
    }

    private static string Sanitize(string prefix)
    {
        var sb = new StringBuilder();
        foreach (var c in prefix.ToLowerInvariant())
        {
            sb.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' ? c : '_');
        }

        var result = sb.ToString();
        if (result.Length == 0 || char.IsDigit(result[0]))
        {
            result = "db" + result;
        }

        return result.Length > 40 ? result[..40] : result;
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var external = Environment.GetEnvironmentVariable(ExternalServerVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            return new PostgresServer(external);
        }

        var binDir = FindBinDirectory()
            ?? throw new InvalidOperationException(
                $"PostgreSQL binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin or on PATH; install PostgreSQL or set {ExternalServerVariable}.");
        var asRoot = Environment.UserName == "root";
        DeleteStaleDataDirectories();

        var dataDir = Path.Combine(Path.GetTempPath(), $"roxy-test-pg-{Guid.NewGuid():N}"[..25]);
        // initdb wants to create/own the directory; as root the server must run as postgres, so hand it over.
        Directory.CreateDirectory(dataDir);
        if (asRoot)
        {
            await RunAsync("chown", ["postgres:postgres", dataDir], asPostgres: false);
        }

        await RunAsync(Path.Combine(binDir, "initdb"),
            ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"], asRoot);

        // Port 0 then release: a tiny race with other processes, so retry with a fresh port if start fails.
        Exception? lastError = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var port = FreePort();
            var serverOptions = string.Join(' ',
                $"-p {port}",
                "-h 127.0.0.1",
                $"-k {dataDir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                // Every silo holds pools for grain storage, the audit log and the prompt cache, and test classes run in parallel.
                "-c max_connections=600");
            try
            {
                await RunAsync(Path.Combine(binDir, "pg_ctl"),
                    ["-D", dataDir, "-l", Path.Combine(dataDir, "server.log"), "-w", "-t", "60", "-o", serverOptions, "start"],
                    asRoot, redirectOutput: false);
            }
            catch (InvalidOperationException ex)
            {
                lastError = ex;
                continue;
            }

            var server = new PostgresServer(new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = port,
                Username = "postgres",
                Database = "postgres",
                Pooling = true,
                MaxPoolSize = 20,
            }.ConnectionString);

            AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(binDir, dataDir, asRoot);
            StartWatchdog(binDir, dataDir, asRoot);
            await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
            return server;
        }

        var log = Path.Combine(dataDir, "server.log");
        throw new InvalidOperationException(
            $"PostgreSQL failed to start in {dataDir}: {(File.Exists(log) ? File.ReadAllText(log) : "(no log)")}", lastError);
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await PostgresSchema.PingAsync(AdminConnectionString, TimeSpan.FromSeconds(2), CancellationToken.None))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"PostgreSQL did not accept connections within {timeout}.");
            }

            await Task.Delay(100);
        }
    }

    // Runs on ProcessExit, where the test host may be killed shortly after: signal an immediate shutdown
    // without waiting (-W) and delete the directory right away, retrying while the postmaster finishes exiting.
    internal static void Stop(string binDir, string dataDir, bool asRoot)
    {
        try
        {
            using var process = Process.Start(CreateStartInfo(Path.Combine(binDir, "pg_ctl"),
                ["-D", dataDir, "-m", "immediate", "-W", "stop"], asRoot, redirectOutput: true));
            process?.WaitForExit(5_000);
        }
        catch (Exception)
        {
            // Best effort at process exit: nothing left to report to.
        }

        for (var attempt = 0; attempt < 20 && Directory.Exists(dataDir); attempt++)
        {
            try
            {
                Directory.Delete(dataDir, recursive: true);
            }
            catch (IOException)
            {
                Thread.Sleep(50); // the exiting postmaster may still be removing/creating files
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    // The test host is often killed right after the run, cutting ProcessExit short (observed: server stopped but
    // directory left behind). A detached shell outlives it, waits for our PID to vanish, then stops and deletes.
    internal static void StartWatchdog(string binDir, string dataDir, bool asRoot)
    {
        const string script = """
            exec </dev/null >/dev/null 2>&1
            while kill -0 "$1"; do sleep 1; done
            if [ "$4" = 1 ]; then runuser -u postgres -- "$2" -D "$3" -m immediate -W stop; else "$2" -D "$3" -m immediate -W stop; fi
            sleep 2
            rm -rf "$3"
            """;
        try
        {
            var startInfo = new ProcessStartInfo("setsid")
            {
                UseShellExecute = false,
                // Own pipes (closed when we exit) so the watchdog never holds the test runner's output open.
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Path.GetTempPath(),
            };
            foreach (var a in new[] { "sh", "-c", script, "roxy-pg-watchdog", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), Path.Combine(binDir, "pg_ctl"), dataDir, asRoot ? "1" : "0" })
            {
                startInfo.ArgumentList.Add(a);
            }

            Process.Start(startInfo)?.Dispose();
        }
        catch (Exception)
        {
            // No setsid: ProcessExit plus the stale-directory sweep still cover cleanup.
        }
    }

    // Leftovers of runs whose host was killed before ProcessExit finished: no postmaster.pid means no
    // server owns the directory; the age check keeps us off a directory another process is still initdb-ing.
    private static void DeleteStaleDataDirectories()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), "roxy-test-pg-*"))
        {
            try
            {
                if (!File.Exists(Path.Combine(dir, "postmaster.pid"))
                    && Directory.GetLastWriteTimeUtc(dir) < DateTime.UtcNow.AddMinutes(-10))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            catch (Exception)
            {
                // Not ours to worry about; try again next run.
            }
        }
    }

    internal static string? FindBinDirectory()
    {
        static bool HasTools(string dir) =>
            File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"));

        const string root = "/usr/lib/postgresql";
        if (Directory.Exists(root))
        {
            var best = Directory.GetDirectories(root)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: double.TryParse(Path.GetFileName(d), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : -1))
                .Where(x => x.Version >= 0 && HasTools(x.Dir))
                .OrderByDescending(x => x.Version)
                .Select(x => x.Dir)
                .FirstOrDefault();
            if (best is not null)
            {
                return best;
            }
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(HasTools);
    }

    internal static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    private static ProcessStartInfo CreateStartInfo(string fileName, string[] args, bool asPostgres, bool redirectOutput)
    {
        // PostgreSQL refuses to run as root; runuser switches without needing a password or a tty.
        var startInfo = new ProcessStartInfo(asPostgres ? "runuser" : fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = redirectOutput,
            RedirectStandardError = redirectOutput,
            // The postgres user may not be able to read the test's current directory.
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", fileName })
            {
                startInfo.ArgumentList.Add(a);
            }
        }

        foreach (var a in args)
        {
            startInfo.ArgumentList.Add(a);
        }

        return startInfo;
    }

    internal static async Task RunAsync(string fileName, string[] args, bool asPostgres, bool redirectOutput = true)
    {
        // pg_ctl start leaves the postmaster holding inherited pipes, so its output is not redirected
        // (reading to EOF would hang); it logs to server.log instead.
        using var process = Process.Start(CreateStartInfo(fileName, args, asPostgres, redirectOutput))
            ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = redirectOutput ? process.StandardOutput.ReadToEndAsync() : Task.FromResult("");
        var stderr = redirectOutput ? process.StandardError.ReadToEndAsync() : Task.FromResult("");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(cts.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', args)} exited with {process.ExitCode}: {await stdout}{await stderr}");
        }
    }
}
