using System.Diagnostics;
using System.Net;
using Roxy.FakeUpstream;
using Roxy.Grains;
using Roxy.Grains.Rotation;
using Roxy.Tests.Fixtures;
using Xunit.Abstractions;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Two Roxy.Silo processes and two frontends on one PostgreSQL; the silo hosting the rotation grain is SIGKILLed
/// under load. The grain comes back on the survivor from its last snapshot, charged for what the dead activation
/// may have granted since, so no key goes over its limit, and frontends retry through the death, so no client
/// sees a 5xx.
/// </summary>
public sealed class SiloKillTests(ITestOutputHelper output)
{
    private const string Token = "silo-kill-admin-token-0123456789";
    private const int Rpm = 30;
    private static readonly string[] Secrets = ["sk-silo-kill-key1-000000001", "sk-silo-kill-key2-000000002", "sk-silo-kill-key3-000000003"];

    [Fact]
    public async Task Killing_the_silo_of_the_rotation_grain_under_load_keeps_every_key_within_its_limit_and_clients_see_no_5xx()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        foreach (var secret in Secrets)
        {
            // The fake provider enforces the same limit: any excess would also show up as its own 429s.
            upstream.SetKeyLimit(secret, Rpm);
        }

        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("silo_kill");
        const string clusterId = "roxy-silo-kill";
        var first = await SiloProcess.StartAsync(postgres, clusterId);
        await using var siloA = first;
        await using var siloB = await SiloProcess.StartAsync(postgres, clusterId);
        var env = new Dictionary<string, string?> { ["ROXY_TOKEN"] = Token, ["KILL_KEY_1"] = Secrets[0], ["KILL_KEY_2"] = Secrets[1], ["KILL_KEY_3"] = Secrets[2] };
        var yaml = $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            api_keys:
              - { key_env_var: KILL_KEY_1, provider: openai, max_rpm: {{Rpm}}, max_tpm: 1000000 }
              - { key_env_var: KILL_KEY_2, provider: openai, max_rpm: {{Rpm}}, max_tpm: 1000000 }
              - { key_env_var: KILL_KEY_3, provider: openai, max_rpm: {{Rpm}}, max_tpm: 1000000 }
            providers:
              openai: { base_url: "{{upstream.BaseUrl}}" }
            rotation: { max_wait_ms: 100 }
            cluster: { mode: cluster, cluster_id: {{clusterId}} }
            """;
        await using var frontendA = await RoxyTestHost.StartAsync(yaml, env, postgres);
        await using var frontendB = await RoxyTestHost.StartAsync(yaml, env, postgres);
        const string body = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""";
        Assert.Equal(HttpStatusCode.OK, (await frontendA.PostChatAsync(Token, body)).StatusCode);

        var rotation = frontendA.Grains.GetGrain<IRotationGrain>(GrainKeys.Rotation("default", "openai"));
        var host = await frontendA.Grains.GetGrain<IManagementGrain>(0).GetActivationAddress(rotation);
        Assert.NotNull(host);
        var victim = host.Endpoint.Port == siloA.SiloPort ? siloA : siloB;
        Assert.Equal(host.Endpoint.Port, victim.SiloPort);

        // 10 requests/s through both frontends, 20/s from 6 s to 18 s; the victim dies 5 s in, with the keys about
        // half used, so a grain restored with empty windows would let each key take its whole limit again.
        var clock = Stopwatch.StartNew();
        var requests = new List<Task<(double SentAt, int Status, double Ms)>>();
        var killedAt = 0.0;
        var due = TimeSpan.Zero;
        for (var i = 0; due < TimeSpan.FromSeconds(18); i++)
        {
            if (clock.Elapsed < due)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            if (killedAt == 0 && clock.Elapsed >= TimeSpan.FromSeconds(5))
            {
                victim.Kill();
                killedAt = clock.Elapsed.TotalSeconds;
            }

            requests.Add(SendAsync(i % 2 == 0 ? frontendA : frontendB, body, clock));
            due += TimeSpan.FromMilliseconds(due < TimeSpan.FromSeconds(6) ? 100 : 50);
        }

        var results = await Task.WhenAll(requests);

        var perKey = string.Join(", ", Secrets.Select(s => $"{upstream.CountFor(s)} (max {upstream.MaxRequestsInAnyWindow(s, TimeSpan.FromSeconds(60))} in 60 s)"));
        var firstOkAfterKill = results.Where(r => r.SentAt >= killedAt && r.Status == 200).Select(r => r.SentAt + (r.Ms / 1000)).DefaultIfEmpty(double.NaN).Min();
        output.WriteLine($"killed at {killedAt:F2} s; first 200 sent after the kill answered at {firstOkAfterKill:F2} s ({firstOkAfterKill - killedAt:F2} s later)");
        output.WriteLine($"statuses: {string.Join(", ", results.GroupBy(r => r.Status).Select(g => $"{g.Key} x{g.Count()}"))}; slowest {results.Max(r => r.Ms):F0} ms");
        output.WriteLine($"upstream per key: {perKey}");
        var problems = string.Join("\n", frontendA.Logs.Lines.Concat(frontendB.Logs.Lines).Where(l => l.StartsWith("Error", StringComparison.Ordinal)).Take(10));

        Assert.All(results, r => Assert.True(r.Status is 200 or 429, $"status {r.Status} at {r.SentAt:F2} s (killed at {killedAt:F2} s); logs:\n{problems}"));
        Assert.Contains(results, r => r.SentAt > killedAt && r.Status == 200);
        foreach (var secret in Secrets)
        {
            Assert.True(upstream.MaxRequestsInAnyWindow(secret, TimeSpan.FromSeconds(60)) <= Rpm, $"a key went over its limit: {perKey}");
        }
    }

    private static async Task<(double SentAt, int Status, double Ms)> SendAsync(RoxyTestHost frontend, string body, Stopwatch clock)
    {
        var sentAt = clock.Elapsed;
        using var response = await frontend.PostChatAsync(Token, body);
        return (sentAt.TotalSeconds, (int)response.StatusCode, (clock.Elapsed - sentAt).TotalMilliseconds);
    }
}
