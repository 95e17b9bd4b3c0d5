using System.Net;
using Microsoft.Extensions.Hosting;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Two silos and two frontends share one rotation grain per (tenant, provider), so per-key limits hold across the
/// whole cluster without Redis, and survive a rolling restart of every silo.
/// </summary>
public sealed class ClusterRateLimitTests
{
    private const string Token = "cluster-rl-admin-token-0123456789";
    private const int Rpm = 5;
    private static readonly string[] Secrets = ["sk-cluster-rl-key1-0000000001", "sk-cluster-rl-key2-0000000002"];

    [Fact]
    public async Task No_key_exceeds_its_rpm_from_two_frontends_and_windows_survive_a_rolling_restart()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        foreach (var secret in Secrets)
        {
            // The fake provider enforces the same limit: any excess would show up as its own 429s.
            upstream.SetKeyLimit(secret, Rpm);
        }

        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("cluster_rl");
        const string clusterId = "roxy-cluster-rl";
        var silos = new List<IHost> { await SiloHost.StartAsync(postgres, clusterId), await SiloHost.StartAsync(postgres, clusterId) };
        var env = new Dictionary<string, string?> { ["ROXY_TOKEN"] = Token, ["RL_KEY_1"] = Secrets[0], ["RL_KEY_2"] = Secrets[1] };
        var yaml = $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            api_keys:
              - { key_env_var: RL_KEY_1, provider: openai, max_rpm: {{Rpm}}, max_tpm: 1000000 }
              - { key_env_var: RL_KEY_2, provider: openai, max_rpm: {{Rpm}}, max_tpm: 1000000 }
            providers:
              openai: { base_url: "{{upstream.BaseUrl}}" }
            rotation: { max_wait_ms: 100 }
            cluster: { mode: cluster, cluster_id: {{clusterId}} }
            # these tests measure the upstream path (calls, keys, rotation), not the prompt cache
            cache: { enabled: false }
            """;
        try
        {
            await using var frontendA = await RoxyTestHost.StartAsync(yaml, env, postgres);
            await using var frontendB = await RoxyTestHost.StartAsync(yaml, env, postgres);
            const string body = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""";

            var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
                (i % 2 == 0 ? frontendA : frontendB).PostChatAsync(Token, body)));

            var statuses = string.Join(",", responses.Select(r => (int)r.StatusCode));
            var perKey = string.Join(",", Secrets.Select(upstream.CountFor));
            Assert.True(responses.Count(r => r.StatusCode == HttpStatusCode.OK) == 2 * Rpm, $"statuses {statuses}; upstream per key {perKey}");
            var refused = responses.Where(r => r.StatusCode != HttpStatusCode.OK).ToArray();
            Assert.Equal(40 - (2 * Rpm), refused.Length);
            var problems = string.Join("\n", frontendA.Logs.Lines.Concat(frontendB.Logs.Lines).Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal) || l.StartsWith("Warning", StringComparison.Ordinal)));
            Assert.All(refused, r =>
            {
                Assert.True(r.StatusCode == HttpStatusCode.TooManyRequests, $"status {(int)r.StatusCode}; logs:\n{problems}");
                Assert.InRange(r.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, Roxy.Grains.Rotation.KeyPool.Window.TotalSeconds);
            });
            foreach (var secret in Secrets)
            {
                Assert.Equal(Rpm, upstream.CountFor(secret));
                Assert.True(upstream.MaxRequestsInAnyWindow(secret, TimeSpan.FromSeconds(60)) <= Rpm);
            }

            // Rolling restart: each silo in turn is replaced; the rotation grain deactivates, saves its windows and
            // comes back elsewhere. The keys must still be full.
            for (var i = 0; i < 2; i++)
            {
                await SiloHost.StopAsync(silos[0]);
                silos.RemoveAt(0);
                silos.Add(await SiloHost.StartAsync(postgres, clusterId));
            }

            var afterRestart = await frontendA.PostChatAsync(Token, body);
            Assert.Equal(HttpStatusCode.TooManyRequests, afterRestart.StatusCode);
            Assert.Equal(2 * Rpm, Secrets.Sum(upstream.CountFor));
        }
        finally
        {
            foreach (var silo in silos)
            {
                await SiloHost.StopAsync(silo);
            }
        }
    }
}
