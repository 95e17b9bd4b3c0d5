using System.Net;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>Stopping Roxy lets in-flight streams finish (bounded by the drain timeout) before the process ends.</summary>
public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task A_stream_in_flight_finishes_while_the_host_stops()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("shutdown");
        var env = new Dictionary<string, string?> { ["ROXY_TOKEN"] = "shutdown-token-0123456789", ["OPENAI_API_KEY_1"] = "sk-shutdown-000000000001" };
        var yaml = $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            providers:
              openai: { base_url: "{{upstream.BaseUrl}}" }
            server: { drain_timeout_sec: 20 }
            """;
        var roxy = await RoxyTestHost.StartAsync(yaml, env, postgres);
        upstream.Enqueue(new FakeResponse { ContentChunks = 20, DelayBetweenEvents = TimeSpan.FromMilliseconds(100) });

        var response = await roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", "shutdown-token-0123456789",
            """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""",
            completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var reading = response.Content.ReadAsStringAsync();
        await Task.Delay(300);
        var stopping = roxy.DisposeAsync().AsTask();
        var body = await reading;
        await stopping;

        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        Assert.Equal(20, body.Split("\"content\":", StringSplitOptions.None).Length - 2);
    }
}
