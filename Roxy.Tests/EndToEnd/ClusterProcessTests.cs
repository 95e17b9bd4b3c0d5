using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;
using Xunit.Abstractions;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The cluster as an operator runs it: scripts/cluster.sh starts two Roxy.Silo processes and two Roxy.Api frontends
/// from the built dlls and one config file, in front of a fake OpenAI upstream on loopback. Per-key limits hold across
/// both frontends, what chat adds on one frontend is used from the other, and the cluster keeps serving through both
/// frontends after a silo is stopped (SIGTERM) and after one is killed (SIGKILL).
/// </summary>
public sealed class ClusterProcessTests(ITestOutputHelper output)
{
    private const string Token = "cluster-script-admin-token-0123456789";
    private const string RpmSecret = "sk-cluster-script-rpm-000000000001";
    private const string TpmSecret = "sk-cluster-script-tpm-000000000002";
    private const string ChatSecret = "sk-cluster-script-chat-00000000003";
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(60) };

    [Fact]
    public async Task The_cluster_script_runs_a_cluster_whose_limits_keys_and_rules_hold_across_frontends_and_that_survives_losing_a_silo()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("cluster_script");
        var dir = Directory.CreateTempSubdirectory("roxy-cluster-script-");
        var configPath = Path.Combine(dir.FullName, "config.yaml");
        // One key bound by requests, one by tokens (requests reserve max_tokens, so a handful fill 2000 tokens).
        await File.WriteAllTextAsync(configPath, $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            api_keys:
              - { key_env_var: CS_RPM_KEY, provider: openai, max_rpm: 4, max_tpm: 1000000 }
              - { key_env_var: CS_TPM_KEY, provider: openai, max_rpm: 1000, max_tpm: 2000 }
            providers:
              openai: { base_url: "{{upstream.BaseUrl}}" }
            rotation: { max_wait_ms: 200 }
            cache: { enabled: false }
            """);
        var ports = Enumerable.Range(0, 6).Select(_ => FreePorts.Next().ToString(CultureInfo.InvariantCulture)).ToArray();
        var env = new Dictionary<string, string>
        {
            ["ROXY_POSTGRES"] = postgres,
            ["ROXY_CONFIG"] = configPath,
            ["ROXY_CLUSTER_DIR"] = Path.Combine(dir.FullName, "cluster"),
            ["ROXY_CLUSTER_BUILD"] = "0",
            ["ROXY_CLUSTER_CONFIGURATION"] = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name,
            ["ROXY_CLUSTER_ID"] = "roxy-cluster-script",
            ["ROXY_LISTEN_HOST"] = "127.0.0.1",
            ["ROXY_API1_PORT"] = ports[0],
            ["ROXY_API2_PORT"] = ports[1],
            ["ROXY_SILO1_PORT"] = ports[2],
            ["ROXY_SILO2_PORT"] = ports[3],
            ["ROXY_GATEWAY1_PORT"] = ports[4],
            ["ROXY_GATEWAY2_PORT"] = ports[5],
            ["ROXY_TOKEN"] = Token,
            ["ROXY_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["CS_RPM_KEY"] = RpmSecret,
            ["CS_TPM_KEY"] = TpmSecret,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var api1 = new Uri($"http://127.0.0.1:{ports[0]}/");
        var api2 = new Uri($"http://127.0.0.1:{ports[1]}/");
        try
        {
            var started = await RunScriptAsync("start", env);
            Assert.True(started.Exit == 0, "cluster.sh start failed:\n" + started.Output + Logs(env));
            Assert.Contains($"http://127.0.0.1:{ports[0]}/v1", started.Output, StringComparison.Ordinal);
            Assert.Contains($"http://127.0.0.1:{ports[1]}/v1", started.Output, StringComparison.Ordinal);
            var status = await RunScriptAsync("status", env);
            Assert.True(status.Exit == 0, "cluster.sh status:\n" + status.Output);

            // 1. A burst through both frontends: no key goes over either limit, and the limits do bind.
            var prompt = string.Join(' ', Enumerable.Range(0, 150).Select(i => "word" + i.ToString(CultureInfo.InvariantCulture)));
            var body = JsonSerializer.Serialize(new { model = "gpt-4o-mini", max_tokens = 300, messages = new[] { new { role = "user", content = prompt } } });
            var burst = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => ChatAsync(i % 2 == 0 ? api1 : api2, body)));
            var statuses = string.Join(",", burst.Select(r => (int)r.Status));
            Assert.All(burst, r => Assert.True(r.Status is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"statuses {statuses}"));
            Assert.Contains(burst, r => r.Status == HttpStatusCode.TooManyRequests);
            var limits = await KeyLimitsAsync(api2);
            var served = burst.Where(r => r.Status == HttpStatusCode.OK).GroupBy(r => r.KeyId!).ToDictionary(g => g.Key, g => g.ToArray());
            Assert.Equal(2, served.Count);
            foreach (var (keyId, answers) in served)
            {
                var (rpm, tpm) = limits[keyId];
                var tokens = answers.Sum(a => a.TotalTokens);
                output.WriteLine($"key {keyId} (max_rpm {rpm}, max_tpm {tpm}): {answers.Length} requests, {tokens} tokens");
                // The whole burst fits in one 60 s window, so its totals bound every window's.
                Assert.True(answers.Length <= rpm, $"key {keyId}: {answers.Length} requests > max_rpm {rpm}");
                Assert.True(tokens <= tpm, $"key {keyId}: {tokens} tokens > max_tpm {tpm}");
            }

            Assert.True(upstream.MaxRequestsInAnyWindow(RpmSecret, TimeSpan.FromSeconds(60)) <= 4);
            Assert.Equal(burst.Count(r => r.Status == HttpStatusCode.OK), upstream.CountFor(RpmSecret) + upstream.CountFor(TpmSecret));
            output.WriteLine($"burst of 40: {served.Values.Sum(a => a.Length)} served, {burst.Count(r => r.Status == HttpStatusCode.TooManyRequests)} refused with 429; upstream saw {upstream.CountFor(RpmSecret)} + {upstream.CountFor(TpmSecret)}");

            // 2. A key and a rule added by chat on frontend 1 are listed and used from frontend 2.
            var added = await CommandAsync(api1, $"#roxy add key openai {ChatSecret} rpm=1000 tpm=1000000");
            Assert.Contains("…0003", added, StringComparison.Ordinal);
            var rule = await CommandAsync(api1, "#roxy add model cluster-alias openai:gpt-4o-mini");
            Assert.Contains("cluster-alias", rule, StringComparison.Ordinal);
            Assert.Contains("…0003", await CommandAsync(api2, "#roxy list keys"), StringComparison.Ordinal);
            Assert.Contains("cluster-alias", await CommandAsync(api2, "#roxy list models"), StringComparison.Ordinal);
            const string aliasBody = """{"model":"cluster-alias","messages":[{"role":"user","content":"hi"}]}""";
            var before = upstream.CountFor(ChatSecret);
            var viaAlias = await ChatAsync(api2, aliasBody);
            Assert.Equal(HttpStatusCode.OK, viaAlias.Status);
            Assert.Equal("gpt-4o-mini", viaAlias.Model);
            // The config keys are spent, so only the chat-added key can have served it.
            Assert.Equal(before + 1, upstream.CountFor(ChatSecret));

            // 3. SIGKILL one silo (no goodbye): once the survivor declares it dead, both frontends serve again.
            await SignalAsync(env, "silo2", "KILL");
            await ServesThroughBothAsync(api1, api2, aliasBody, env, "after silo2 got SIGKILL");

            // 4. start again starts only what is missing: the killed silo comes back, the rest is left alone.
            var restarted = await RunScriptAsync("start", env);
            Assert.True(restarted.Exit == 0, "cluster.sh start (again) failed:\n" + restarted.Output + Logs(env));
            Assert.Contains("silo2 started", restarted.Output, StringComparison.Ordinal);
            Assert.Contains("silo1 already running", restarted.Output, StringComparison.Ordinal);
            Assert.Contains("api1 already running", restarted.Output, StringComparison.Ordinal);

            // 5. SIGTERM the other silo (a graceful leave): its grains move to the restarted one, both frontends serve.
            await SignalAsync(env, "silo1", "TERM");
            await ServesThroughBothAsync(api1, api2, aliasBody, env, "after silo1 got SIGTERM");
            Assert.Contains("…0003", await CommandAsync(api2, "#roxy list keys"), StringComparison.Ordinal);

            // 6. stop stops everything it started, by PID.
            var stopped = await RunScriptAsync("stop", env);
            output.WriteLine(stopped.Output);
            Assert.Equal(0, stopped.Exit);
            var after = await RunScriptAsync("status", env);
            Assert.NotEqual(0, after.Exit);
            Assert.DoesNotContain("running", after.Output, StringComparison.Ordinal);
        }
        finally
        {
            // Idempotent: after a failure above it still stops whatever is left.
            await RunScriptAsync("stop", env);
            dir.Delete(recursive: true);
        }
    }

    private static async Task ServesThroughBothAsync(Uri api1, Uri api2, string body, Dictionary<string, string> env, string when)
    {
        foreach (var api in new[] { api1, api2 })
        {
            // Grains that lived on the lost silo come back on the other once membership declares it dead.
            await Eventually.TrueAsync(
                async () => (await ChatAsync(api, body)).Status == HttpStatusCode.OK,
                TimeSpan.FromSeconds(90),
                $"{api} did not serve {when}:\n{Logs(env)}");
        }
    }

    private static async Task SignalAsync(Dictionary<string, string> env, string name, string signal)
    {
        var pid = int.Parse((await File.ReadAllTextAsync(Path.Combine(env["ROXY_CLUSTER_DIR"], name + ".pid"))).Trim(), CultureInfo.InvariantCulture);
        using var process = Process.GetProcessById(pid);
        using (var kill = Process.Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
    }

    private sealed record Answer(HttpStatusCode Status, string? KeyId, string? Model, long TotalTokens);

    private static async Task<Answer> ChatAsync(Uri api, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(api, "v1/chat/completions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        long tokens = 0;
        if (response.StatusCode == HttpStatusCode.OK)
        {
            using var json = JsonDocument.Parse(text);
            tokens = json.RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt64();
        }

        return new Answer(
            response.StatusCode,
            response.Headers.TryGetValues("x-roxy-key", out var key) ? key.Single() : null,
            response.Headers.TryGetValues("x-roxy-model", out var model) ? model.Single() : null,
            tokens);
    }

    private static async Task<string> CommandAsync(Uri api, string command)
    {
        var body = JsonSerializer.Serialize(new { model = "roxy", messages = new[] { new { role = "user", content = command } } });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(api, "v1/chat/completions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        return json.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }

    /// <summary>Key id → limits, from the admin API of the tenant (its admin token may read its own keys).</summary>
    private static async Task<Dictionary<string, (long Rpm, long Tpm)>> KeyLimitsAsync(Uri api)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(api, "admin/tenants/default/keys"));
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        return json.RootElement.GetProperty("data").EnumerateArray().ToDictionary(
            k => k.GetProperty("id").GetString()!,
            k => (k.GetProperty("limits").GetProperty("max_rpm").GetInt64(), k.GetProperty("limits").GetProperty("max_tpm").GetInt64()));
    }

    private static async Task<(int Exit, string Output)> RunScriptAsync(string command, Dictionary<string, string> env)
    {
        var info = new ProcessStartInfo("bash", [Path.Combine(RepoRoot(), "scripts", "cluster.sh"), command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot(),
        };
        foreach (var (name, value) in env)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>The last lines of every process's log, for failure messages.</summary>
    private static string Logs(Dictionary<string, string> env)
    {
        var text = new StringBuilder();
        foreach (var name in new[] { "silo1", "silo2", "api1", "api2" })
        {
            var path = Path.Combine(env["ROXY_CLUSTER_DIR"], name + ".log");
            if (File.Exists(path))
            {
                text.Append(CultureInfo.InvariantCulture, $"\n--- {name}.log\n").AppendJoin('\n', File.ReadLines(path).TakeLast(15));
            }
        }

        return text.ToString();
    }

    // Roxy.Tests/bin/CONFIG/TFM → the repository.
    private static string RepoRoot() => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Parent!.Parent!.FullName;
}
