using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// A real Roxy.Silo process (the executable built beside the tests), so a test can SIGKILL it: no graceful
/// shutdown, no deactivation, sockets closed by the kernel, as when a machine or container dies.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _lastLines = new();

    private SiloProcess(Process process, int siloPort)
    {
        _process = process;
        SiloPort = siloPort;
    }

    public int SiloPort { get; }

    /// <summary>The process's last output lines, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_lastLines)
            {
                return string.Join("\n", _lastLines);
            }
        }
    }

    /// <param name="environment">Extra variables for the process (e.g. the dashboard's).</param>
    public static async Task<SiloProcess> StartAsync(string postgres, string clusterId, IReadOnlyDictionary<string, string>? environment = null)
    {
        var siloPort = FreePorts.Next();
        var info = new ProcessStartInfo(Executable())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["ROXY_POSTGRES"] = postgres;
        info.Environment["ROXY_CLUSTER_ID"] = clusterId;
        info.Environment["ROXY_SILO_PORT"] = siloPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["ROXY_GATEWAY_PORT"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture);
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var silo = new SiloProcess(Process.Start(info)!, siloPort);
        silo._process.OutputDataReceived += (_, e) => silo.Keep(e.Data);
        silo._process.ErrorDataReceived += (_, e) => silo.Keep(e.Data);
        silo._process.BeginOutputReadLine();
        silo._process.BeginErrorReadLine();
        await silo.WaitUntilActiveAsync(postgres, clusterId);
        return silo;
    }

    /// <summary>
    /// Roxy.Silo's own build output (Roxy.Tests/bin/CONFIG/TFM → Roxy.Silo/bin/CONFIG/TFM): the copy beside the tests
    /// lacks the hosting assemblies the tests take from the ASP.NET Core shared framework.
    /// </summary>
    private static string Executable()
    {
        var tfm = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = tfm.Parent!;
        var repo = configuration.Parent!.Parent!.Parent!;
        var name = OperatingSystem.IsWindows() ? "Roxy.Silo.exe" : "Roxy.Silo";
        return Path.Combine(repo.FullName, "Roxy.Silo", "bin", configuration.Name, tfm.Name, name);
    }

    /// <summary>SIGKILL: the silo gets no chance to say goodbye.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lastLines)
        {
            _lastLines.Enqueue(line);
            if (_lastLines.Count > 50)
            {
                _lastLines.Dequeue();
            }
        }
    }

    private async Task WaitUntilActiveAsync(string postgres, string clusterId)
    {
        await using var connection = new NpgsqlConnection(postgres);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            Assert.False(_process.HasExited, "Roxy.Silo exited at start:\n" + Output);
            Assert.True(DateTime.UtcNow < deadline, "Roxy.Silo did not join the cluster in time:\n" + Output);
            try
            {
                if (connection.State != System.Data.ConnectionState.Open)
                {
                    await connection.OpenAsync();
                }

                await using var command = new NpgsqlCommand("SELECT count(*) FROM orleansmembershiptable WHERE deploymentid = @c AND port = @p AND status = 3", connection);
                command.Parameters.AddWithValue("c", clusterId);
                command.Parameters.AddWithValue("p", SiloPort);
                if ((long)(await command.ExecuteScalarAsync())! > 0)
                {
                    return;
                }
            }
            catch (PostgresException)
            {
                // The membership table does not exist until the first silo created the schema.
            }

            await Task.Delay(100);
        }
    }
}
