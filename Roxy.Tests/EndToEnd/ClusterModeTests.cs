using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OpenAI.Chat;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Cluster mode: two silo hosts (what Roxy.Silo runs) and a Roxy.Api frontend as an Orleans client, all meeting
/// through the membership table in one PostgreSQL.
/// </summary>
public sealed class ClusterModeTests
{
    [Fact]
    public async Task Frontend_as_client_serves_through_two_silos_on_postgres()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("cluster");
        var clusterId = "roxy-cluster-test";
        var silos = new List<IHost>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                silos.Add(await SiloHost.StartAsync(postgres, clusterId));
            }

            var env = new Dictionary<string, string?>
            {
                ["ROXY_TOKEN"] = "cluster-admin-token-0123456789",
                ["OPENAI_API_KEY_1"] = "sk-cluster-0000000000000001",
            };
            var yaml = $$"""
                tokens: [{ token_env: ROXY_TOKEN, role: admin }]
                providers:
                  openai: { base_url: "{{upstream.BaseUrl}}" }
                cluster: { mode: cluster, cluster_id: {{clusterId}} }
                """;
            await using var frontend = await RoxyTestHost.StartAsync(yaml, env, postgres);
            Assert.Null(frontend.App.Services.GetService<ISiloStatusOracle>());

            ChatCompletion answer = await frontend.Chat("gpt-4o-mini", "cluster-admin-token-0123456789")
                .CompleteChatAsync([new UserChatMessage("hi")]);
            Assert.Equal("gpt-4o-mini", answer.Model);
            Assert.Equal("sk-cluster-0000000000000001", Assert.Single(upstream.Requests).ApiKey);

            var ready = await frontend.SendAsync(HttpMethod.Get, "readyz", null);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

            await using var connection = new NpgsqlConnection(postgres);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM orleansmembershiptable WHERE deploymentid = @c AND status = 3", connection);
            command.Parameters.AddWithValue("c", clusterId);
            Assert.Equal(2L, await command.ExecuteScalarAsync());
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
