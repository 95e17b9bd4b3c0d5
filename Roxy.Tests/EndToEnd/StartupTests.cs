using System.Diagnostics;
using Roxy.Api.Hosting;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>Bad start-up input stops the process with one line per problem, before anything listens.</summary>
public sealed class StartupTests
{
    private static async Task<RoxyStartupException> StartExpectingFailureAsync(string yaml, Dictionary<string, string?> env)
    {
        using var dir = new TempDirectory(Directory.CreateTempSubdirectory("roxy-startup-"));
        var path = Path.Combine(dir.Path, "config.yaml");
        await File.WriteAllTextAsync(path, yaml);
        return await Assert.ThrowsAsync<RoxyStartupException>(() => RoxyHost.CreateAsync(new RoxyHostSettings
        {
            ConfigPath = path,
            Environment = env,
            Urls = "http://127.0.0.1:0",
        }));
    }

    [Fact]
    public async Task Unusable_master_key_and_config_problems_are_all_reported()
    {
        var failure = await StartExpectingFailureAsync(
            "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\nmodel_rules: [{ source_model: x, target_models: [gpt-4o], selection_policy: fallbak }]\n",
            new() { ["ROXY_TOKEN"] = "startup-token-0123456789", ["ROXY_MASTER_KEY"] = "c2hvcnQta2V5", ["ROXY_POSTGRES"] = "Host=127.0.0.1;Port=1" });

        Assert.Equal(2, failure.Problems.Count);
        Assert.Contains(failure.Problems, p => p.Contains("model_rules[0].selection_policy", StringComparison.Ordinal) && p.Contains(":2:", StringComparison.Ordinal));
        Assert.Contains(failure.Problems, p => p.Contains("ROXY_MASTER_KEY", StringComparison.Ordinal) && p.Contains("32", StringComparison.Ordinal));
        Assert.DoesNotContain(failure.Problems, p => p.Contains("c2hvcnQta2V5", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Missing_postgres_connection_string_is_reported()
    {
        var failure = await StartExpectingFailureAsync(
            "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\n",
            new() { ["ROXY_TOKEN"] = "startup-token-0123456789" });

        Assert.Contains(failure.Problems, p => p.StartsWith("ROXY_POSTGRES:", StringComparison.Ordinal));
    }
    [Fact]
    public async Task Unreachable_postgres_is_one_line_naming_host_and_port_after_the_configured_wait()
    {
        var port = FreePorts.Next();
        var failure = await StartExpectingFailureAsync(
            "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\nserver: { startup_wait_sec: 0 }\n",
            new() { ["ROXY_TOKEN"] = "startup-token-0123456789", ["ROXY_POSTGRES"] = $"Host=127.0.0.1;Port={port};Username=roxy;Password=pg-secret-0123;Database=roxy" });

        var line = Assert.Single(failure.Problems);
        Assert.StartsWith("ROXY_POSTGRES: ", line, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", line, StringComparison.Ordinal);
        Assert.Contains("refused", line, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("pg-secret", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Roxy.Api")]
    [InlineData("Roxy.Silo")]
    public async Task Process_exits_2_with_one_line_and_no_stack_trace_when_postgres_is_unreachable(string program)
    {
        var dir = Directory.CreateTempSubdirectory("roxy-startup-process-");
        using var cleanup = new TempDirectory(dir);
        var config = Path.Combine(dir.FullName, "config.yaml");
        await File.WriteAllTextAsync(config, "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\n");
        var port = FreePorts.Next();
        var start = new ProcessStartInfo("dotnet", [BuiltProgram(program), "--config", config])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = dir.FullName,
        };
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("ROXY_", StringComparison.Ordinal)).ToArray())
        {
            start.Environment.Remove(name);
        }

        start.Environment["ROXY_POSTGRES"] = $"Host=127.0.0.1;Port={port};Username=roxy;Password=pg-secret-0123;Database=roxy";
        start.Environment["ROXY_STARTUP_WAIT_SEC"] = "0";
        start.Environment["ROXY_TOKEN"] = "startup-token-0123456789";
        start.Environment["ROXY_SILO_PORT"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["ROXY_GATEWAY_PORT"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(deadline.Token);
        var output = await stderr + await stdout;

        Assert.Equal(2, process.ExitCode);
        Assert.Contains($"127.0.0.1:{port}", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("pg-secret", output, StringComparison.Ordinal);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains($"127.0.0.1:{port}", StringComparison.Ordinal));
    }

    /// <summary>Removes a test's scratch directory when the test ends, however it ends.</summary>
    private sealed class TempDirectory(DirectoryInfo dir) : IDisposable
    {
        public string Path => dir.FullName;

        public void Dispose()
        {
            try
            {
                dir.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A process that has not quite let go of it: the OS's temp cleanup has it.
            }
        }
    }

    /// <summary>The program as its own build left it (its deps.json differs from the test's): <c>Project/bin/Configuration/tfm/Project.dll</c>.</summary>
    private static string BuiltProgram(string project)
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (testBin.Name, testBin.Parent!.Name);
        for (var dir = testBin; dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, project, "bin", configuration, framework, project + ".dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{project}.dll not found above {AppContext.BaseDirectory}");
    }
}
