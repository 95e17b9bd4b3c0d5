using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Npgsql;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;
using Xunit.Abstractions;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// SPEC §4: while PostgreSQL is away, warm grains keep serving. Two Roxy.Silo processes and two frontends on a private
/// PostgreSQL that the test stops and starts again, with traffic through both frontends the whole time.
/// </summary>
public sealed class PostgresOutageTests(ITestOutputHelper output)
{
    private const string Token = "pg-outage-admin-token-0123456789";
    private const string Key1 = "sk-pg-outage-key1-000000001";
    private const string Key2 = "sk-pg-outage-key2-000000002";
    private const string ChatKey = "sk-pg-outage-chat-key-000000003";
    private const int Rpm = 600;

    [Fact]
    public async Task Warm_tenants_get_no_5xx_while_postgres_is_stopped_and_nothing_is_lost()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetKeyLimit(Key1, Rpm);
        upstream.SetKeyLimit(Key2, Rpm);
        upstream.SetKeyLimit(ChatKey, Rpm);
        await using var postgres = await StoppablePostgres.StartAsync();
        const string clusterId = "roxy-pg-outage";
        output.WriteLine($"pg up after {clock.Elapsed.TotalSeconds:F1} s");
        await using var siloA = await SiloProcess.StartAsync(postgres.ConnectionString, clusterId);
        output.WriteLine($"silo A up after {clock.Elapsed.TotalSeconds:F1} s");
        await using var siloB = await SiloProcess.StartAsync(postgres.ConnectionString, clusterId);
        output.WriteLine($"silo B up after {clock.Elapsed.TotalSeconds:F1} s");
        var env = new Dictionary<string, string?>
        {
            ["ROXY_TOKEN"] = Token,
            ["OUTAGE_KEY_1"] = Key1,
            ["OUTAGE_KEY_2"] = Key2,
            ["ROXY_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        };
        // The prompt cache is part of what must keep working without PostgreSQL: on.
        var yaml = $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            api_keys:
              - { key_env_var: OUTAGE_KEY_1, provider: openai, max_rpm: {{Rpm}}, max_tpm: 10000000 }
              - { key_env_var: OUTAGE_KEY_2, provider: openai, max_rpm: {{Rpm}}, max_tpm: 10000000 }
            providers:
              openai: { base_url: "{{upstream.BaseUrl}}" }
            budget: { daily_usd: 1000 }
            cache: { enabled: true }
            cluster: { mode: cluster, cluster_id: {{clusterId}} }
            """;
        await using var frontendA = await RoxyTestHost.StartAsync(yaml, env, postgres.ConnectionString);
        output.WriteLine($"frontend A up after {clock.Elapsed.TotalSeconds:F1} s");
        await using var frontendB = await RoxyTestHost.StartAsync(yaml, env, postgres.ConnectionString);
        RoxyTestHost[] frontends = [frontendA, frontendB];
        output.WriteLine($"cluster up after {clock.Elapsed.TotalSeconds:F1} s");

        // Added before the fault, by chat and by the admin API: all of it must still be there afterwards.
        Assert.Contains("Added key", await SayAsync(frontendA, $"#roxy add key openai {ChatKey} rpm={Rpm}"), StringComparison.Ordinal);
        Assert.Contains("outage-rule", await SayAsync(frontendA, "#roxy add model outage-rule openai:gpt-4o-mini"), StringComparison.Ordinal);
        var cachedBody = Chat("what stays cached", stream: false);
        Assert.Equal(HttpStatusCode.OK, (await frontendA.PostChatAsync(Token, cachedBody)).StatusCode);

        // Warm: every grain the traffic needs is active on both frontends' path.
        foreach (var frontend in frontends)
        {
            for (var i = 0; i < 3; i++)
            {
                using var warm = await frontend.PostChatAsync(Token, Chat($"warm {i}", stream: i % 2 == 0));
                Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
            }
        }

        using var traffic = new SteadyTraffic();
        traffic.Start(TimeSpan.FromMilliseconds(100), i => SendAsync(frontends[i % 2], i));
        await Task.Delay(TimeSpan.FromSeconds(2));

        traffic.Phase = "outage";
        await postgres.StopAsync();
        var outageStarted = traffic.Now;
        await Task.Delay(TimeSpan.FromSeconds(3));

        // /readyz: degraded (200), not down. Every shortfall is collected, so one run shows them all.
        var problems = new List<string>();
        foreach (var frontend in frontends)
        {
            using var ready = await frontend.SendAsync(HttpMethod.Get, "readyz", null);
            var report = await ready.Content.ReadAsStringAsync();
            if (ready.StatusCode != HttpStatusCode.OK || JsonNode.Parse(report)!["status"]!.GetValue<string>() != "degraded")
            {
                problems.Add($"/readyz {(int)ready.StatusCode} while PostgreSQL is away: {report}");
            }
        }

        // A change during the outage fails clearly and quickly, in the caller's protocol, and changes nothing.
        using (var addByApi = await frontendB.SendAsync(HttpMethod.Post, "admin/tenants/default/keys", Token, """{"provider":"openai","key":"sk-pg-outage-never-added-0004"}"""))
        {
            var text = await addByApi.Content.ReadAsStringAsync();
            if (addByApi.StatusCode != HttpStatusCode.ServiceUnavailable || addByApi.Headers.RetryAfter is null || !text.Contains("\"storage_unavailable\"", StringComparison.Ordinal))
            {
                problems.Add($"admin key add during the outage: {(int)addByApi.StatusCode} retry-after={addByApi.Headers.RetryAfter} {text}");
            }
        }

        using (var addByChat = await frontendA.PostChatAsync(Token, Chat("#roxy add key openai sk-pg-outage-never-added-0005", stream: false)))
        {
            var text = await addByChat.Content.ReadAsStringAsync();
            if (addByChat.StatusCode != HttpStatusCode.ServiceUnavailable || !text.Contains("\"storage_unavailable\"", StringComparison.Ordinal))
            {
                problems.Add($"#roxy add key during the outage: {(int)addByChat.StatusCode} {text}");
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(7));
        traffic.Phase = "after";
        await postgres.StartAgainAsync();
        var outageEnded = traffic.Now;
        await Task.Delay(TimeSpan.FromSeconds(5));
        var sent = await traffic.StopAsync();

        output.WriteLine($"PostgreSQL away {outageStarted:F1}-{outageEnded:F1} s");
        foreach (var phase in sent.GroupBy(s => s.Phase))
        {
            output.WriteLine($"{phase.Key}: {SteadyTraffic.Summary(phase)}");
        }

        var failed = sent.Where(s => s.Status is not 200).ToList();
        if (failed.Count > 0)
        {
            problems.Add($"{failed.Count} of {sent.Count} requests failed: {string.Join("; ", failed.Take(8).Select(f => $"#{f.Index} at {f.SentAt:F1} s ({f.Phase}): {f.Status} {f.Detail}"))}");
        }

        var logs = string.Join("\n", frontendA.Logs.Lines.Concat(frontendB.Logs.Lines)
            .Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Warn", StringComparison.Ordinal))
            .Select(l => l.Length > 700 ? l[..700] : l).Distinct().Take(25));
        Assert.True(problems.Count == 0, string.Join("\n", problems) + "\nfrontend logs:\n" + logs);

        output.WriteLine($"checks after the outage start at {traffic.Now:F1} s");
        // Both silos lived through it and are still active members.
        await Eventually.TrueAsync(async () => await ActiveSilosAsync(postgres.ConnectionString, clusterId) == 2, TimeSpan.FromSeconds(30),
            "both silos should still be active members after the outage");

        // Nothing added before the fault is lost, and changes work again.
        var keys = await ListAsync(frontendB, "admin/tenants/default/keys");
        Assert.Contains(keys["data"]!.AsArray(), k => k!["mask"]!.GetValue<string>().EndsWith("0003", StringComparison.Ordinal));
        Assert.DoesNotContain(keys["data"]!.AsArray(), k => k!["mask"]!.GetValue<string>().EndsWith("0004", StringComparison.Ordinal) || k["mask"]!.GetValue<string>().EndsWith("0005", StringComparison.Ordinal));
        var rules = await ListAsync(frontendB, "admin/tenants/default/rules");
        Assert.Contains(rules["data"]!.AsArray(), r => r!["source"]!.GetValue<string>() == "outage-rule");
        using (var hit = await frontendB.PostChatAsync(Token, cachedBody))
        {
            Assert.Equal("hit", hit.Headers.GetValues("x-roxy-cache").Single());
        }

        using (var addAfter = await frontendB.SendAsync(HttpMethod.Post, "admin/tenants/default/keys", Token, """{"provider":"openai","key":"sk-pg-outage-added-after-0006"}"""))
        {
            Assert.True(addAfter.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"key add after the outage: {(int)addAfter.StatusCode} {await addAfter.Content.ReadAsStringAsync()}");
        }

        output.WriteLine($"usage check starts at {traffic.Now:F1} s");
        // What was counted while PostgreSQL was away reached it once it was back.
        // The traffic, the cached request and its hit afterwards, the warm-up.
        var answered = sent.Count(s => s.Status == 200) + 2 + (3 * frontends.Length);
        await Eventually.TrueAsync(async () => await StoredRequestsAsync(postgres.ConnectionString) >= answered, TimeSpan.FromSeconds(30),
            $"usage of all {answered} answered requests should reach PostgreSQL");
        Assert.Equal(answered, await StoredRequestsAsync(postgres.ConnectionString));
        output.WriteLine($"usage stored by {traffic.Now:F1} s; test at {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static string Chat(string text, bool stream) =>
        new JsonObject
        {
            ["model"] = "gpt-4o-mini",
            ["stream"] = stream,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
        }.ToJsonString();

    private static async Task<(int, string?)> SendAsync(RoxyTestHost frontend, int index)
    {
        // Every fourth request repeats a prompt (a cache hit from the silo's memory); the rest are misses, half streamed.
        var stream = index % 2 == 1;
        var body = Chat(index % 4 == 0 ? "what stays cached" : $"steady request {index}", stream && index % 4 != 0);
        using var response = await frontend.PostChatAsync(Token, body);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == HttpStatusCode.OK && stream && index % 4 != 0 && !text.Contains("data: [DONE]", StringComparison.Ordinal))
        {
            return (SteadyTraffic.Broken, "stream without [DONE]");
        }

        return ((int)response.StatusCode, response.StatusCode == HttpStatusCode.OK ? null : text.Length > 300 ? text[..300] : text);
    }

    private static async Task<string> SayAsync(RoxyTestHost frontend, string command)
    {
        using var response = await frontend.PostChatAsync(Token, Chat(command, stream: false));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return body["choices"]![0]!["message"]!["content"]!.GetValue<string>();
    }

    private static async Task<JsonNode> ListAsync(RoxyTestHost frontend, string path)
    {
        using var response = await frontend.SendAsync(HttpMethod.Get, path, Token);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<long> ActiveSilosAsync(string postgres, string clusterId)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM orleansmembershiptable WHERE deploymentid = @c AND status = 3", connection);
        command.Parameters.AddWithValue("c", clusterId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long> StoredRequestsAsync(string postgres)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT coalesce(sum(requests), 0)::bigint FROM roxy_usage WHERE tenant_id = 'default'", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
