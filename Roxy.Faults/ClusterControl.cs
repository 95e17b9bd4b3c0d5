using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Roxy.Faults;

/// <summary>
/// The multi-process cluster through scripts/cluster.sh: a private PostgreSQL, two Roxy.Silo and two Roxy.Api
/// processes from the built dlls (ROXY_CLUSTER_BUILD=0), private directory and free ports. Every fault is one
/// cluster.sh command, so the drill acts on the cluster exactly as an operator would.
/// </summary>
public sealed class ClusterControl
{
    private readonly string _repoRoot;
    private readonly Dictionary<string, string> _env;

    public ClusterControl(DrillOptions options, string workDir, string configPath, IReadOnlyDictionary<string, string> secrets)
    {
        _repoRoot = options.RepoRoot;
        Dir = Path.Combine(workDir, "cluster");
        var ports = FreePorts(6);
        ApiPorts = [ports[0], ports[1]];
        _env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ROXY_CONFIG"] = configPath,
            ["ROXY_CLUSTER_DIR"] = Dir,
            ["ROXY_CLUSTER_BUILD"] = "0",
            ["ROXY_CLUSTER_CONFIGURATION"] = options.Configuration,
            ["ROXY_CLUSTER_ID"] = "roxy-faults-" + Path.GetFileName(workDir),
            ["ROXY_LISTEN_HOST"] = "127.0.0.1",
            ["ROXY_API1_PORT"] = Text(ports[0]),
            ["ROXY_API2_PORT"] = Text(ports[1]),
            ["ROXY_SILO1_PORT"] = Text(ports[2]),
            ["ROXY_SILO2_PORT"] = Text(ports[3]),
            ["ROXY_GATEWAY1_PORT"] = Text(ports[4]),
            ["ROXY_GATEWAY2_PORT"] = Text(ports[5]),
            // Names only the socket file, in a socket directory of this drill's own.
            ["ROXY_PG_PORT"] = Text(ports[0]),
            ["ROXY_CLUSTER_WAIT_SEC"] = "120",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (name, value) in secrets)
        {
            _env[name] = value;
        }
    }

    /// <summary>The cluster's private directory: pid files, logs, the PostgreSQL data.</summary>
    public string Dir { get; }

    public int[] ApiPorts { get; }

    /// <summary>Frontend 1 or 2.</summary>
    public Uri Api(int frontend) => new($"http://127.0.0.1:{ApiPorts[frontend - 1]}/");

    public Task<ScriptResult> StartAsync() => RunAsync("start");

    public Task<ScriptResult> StopAsync() => RunAsync("stop");

    public Task<ScriptResult> KillAsync(string name) => RunAsync("kill", name);

    public Task<ScriptResult> RestartAsync(string name) => RunAsync("restart", name);

    public Task<ScriptResult> StopPostgresAsync() => RunAsync("pg-stop");

    public Task<ScriptResult> StartPostgresAsync() => RunAsync("pg-start");

    /// <summary>Runs cluster.sh with the drill's environment; a failure throws with the script's output and the logs.</summary>
    public async Task<ScriptResult> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("bash", [Path.Combine(_repoRoot, "scripts", "cluster.sh"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _repoRoot,
        };
        // The cluster gets its own PostgreSQL (the drill stops it): never one inherited from the caller.
        info.Environment.Remove("ROXY_POSTGRES");
        foreach (var (name, value) in _env)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        await process.WaitForExitAsync(cts.Token);
        var result = new ScriptResult(process.ExitCode, await stdout + await stderr);
        if (result.Exit != 0 && args[0] != "stop")
        {
            throw new InvalidOperationException($"cluster.sh {string.Join(' ', args)} failed ({result.Exit}):\n{result.Output}{Logs()}");
        }

        return result;
    }

    /// <summary>The last lines of every process's log, for failure messages.</summary>
    public string Logs(int lines = 15)
    {
        var text = new StringBuilder();
        foreach (var name in new[] { "silo1", "silo2", "api1", "api2" })
        {
            var path = Path.Combine(Dir, name + ".log");
            if (File.Exists(path))
            {
                text.Append(CultureInfo.InvariantCulture, $"\n--- {name}.log\n").AppendJoin('\n', File.ReadLines(path).TakeLast(lines));
            }
        }

        return text.ToString();
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);

    // Held open together so the six are distinct; a port can still be taken between here and the bind (rare on loopback).
    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
