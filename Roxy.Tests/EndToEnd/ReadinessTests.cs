using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Roxy.Api.Apis;
using Roxy.Api.Hosting;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary><c>/readyz</c> needs no token, so a flood of probes must not become a flood of PostgreSQL connections.</summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task Concurrent_probes_share_one_check_and_open_no_connection_each()
    {
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("readyz");
        await using var roxy = await RoxyTestHost.StartAsync(
            "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\n", new Dictionary<string, string?> { ["ROXY_TOKEN"] = "readyz-token-0123456789" }, postgres);
        Assert.Equal(HttpStatusCode.OK, (await roxy.SendAsync(HttpMethod.Get, "readyz", null)).StatusCode);
        var before = await BackendsAsync(postgres);

        var answers = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => roxy.SendAsync(HttpMethod.Get, "readyz", null)));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        var after = await BackendsAsync(postgres);
        Assert.True(after - before <= 3, $"300 probes took PostgreSQL backends from {before} to {after}");
    }

    [Fact]
    public async Task One_check_per_interval_however_many_probes_arrive()
    {
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("readyz_interval");
        var clock = new FakeTimeProvider();
        await using var roxy = await RoxyTestHost.StartAsync(
            "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\n", new Dictionary<string, string?> { ["ROXY_TOKEN"] = "readyz-token-0123456789" }, postgres,
            builder => builder.Services.AddSingleton(s => new ReadinessCheck(s.GetRequiredService<IGrainFactory>(), s.GetRequiredService<RoxyRuntime>(), clock)));
        var readiness = roxy.App.Services.GetRequiredService<ReadinessCheck>();

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => roxy.SendAsync(HttpMethod.Get, "readyz", null)));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal(1, readiness.Checks);

        clock.Advance(ReadinessCheck.Reuse + TimeSpan.FromMilliseconds(1));
        Assert.Equal(HttpStatusCode.OK, (await roxy.SendAsync(HttpMethod.Get, "readyz", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await roxy.SendAsync(HttpMethod.Get, "readyz", null)).StatusCode);
        Assert.Equal(2, readiness.Checks);
    }

    private static async Task<long> BackendsAsync(string connectionString)
    {
        // Its own pool: this count must not include a connection of its own making beyond this one.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
