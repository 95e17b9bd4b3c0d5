using System.Security.Cryptography;
using Npgsql;
using OpenAI.Chat;
using Roxy.FakeUpstream;
using Roxy.Grains;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>The audit log records real changes only, in a table of its own, so neither the tenant's row nor its history can be churned by an admin.</summary>
public sealed class AuditLogTests : IAsyncLifetime
{
    private const string Token = "audit-admin-token-0123456789";
    private FakeOpenAiServer _upstream = null!;
    private RoxyTestHost _roxy = null!;
    private string _postgres = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAiServer.StartAsync();
        _postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("audit_log");
        _roxy = await RoxyTestHost.StartAsync(
            $$"""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            providers:
              openai: { base_url: "{{_upstream.BaseUrl}}" }
            """,
            new Dictionary<string, string?> { ["ROXY_TOKEN"] = Token, ["ROXY_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) },
            _postgres);
    }

    public async Task DisposeAsync()
    {
        await _roxy.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task<string> SayAsync(string text)
    {
        ChatCompletion reply = await _roxy.Chat("anything", Token).CompleteChatAsync([new UserChatMessage(text)]);
        return reply.Content[0].Text;
    }

    [Fact]
    public async Task Repeated_enable_and_disable_are_audited_once_and_do_not_rewrite_the_tenant()
    {
        var added = await SayAsync("#roxy add key openai sk-audit-noop-0123456789abcdef");
        var id = added[(added.IndexOf("`k-", StringComparison.Ordinal) + 1)..][..12];
        await SayAsync($"#roxy disable key {id}");
        var written = await TenantRowVersionAsync();

        Assert.Contains("out of rotation", await SayAsync($"#roxy disable key {id}"), StringComparison.Ordinal);
        Assert.Contains("out of rotation", await SayAsync($"#roxy disable key {id}"), StringComparison.Ordinal);
        Assert.Equal(written, await TenantRowVersionAsync());

        await SayAsync($"#roxy enable key {id}");
        Assert.NotEqual(written, await TenantRowVersionAsync());
        await SayAsync($"#roxy enable key {id}");

        var audit = await _roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("default")).GetAuditAsync(50);
        Assert.Equal([$"enable key {id}", $"disable key {id}"], audit.Take(2).Select(e => e.Action));
        Assert.Equal(3, audit.Count);
    }

    [Fact]
    public async Task Audit_entries_live_in_their_own_table_not_in_the_tenant_row()
    {
        var added = await SayAsync("#roxy add key openai sk-audit-table-0123456789abcdef");
        var id = added[(added.IndexOf("`k-", StringComparison.Ordinal) + 1)..][..12];
        await SayAsync($"#roxy disable key {id}");

        await using var connection = new NpgsqlConnection(_postgres);
        await connection.OpenAsync();
        await using (var count = new NpgsqlCommand("SELECT count(*) FROM roxy_audit WHERE tenant_id = 'default'", connection))
        {
            Assert.Equal(2L, await count.ExecuteScalarAsync());
        }

        await using var row = new NpgsqlCommand(
            "SELECT convert_from(payloadbinary, 'UTF8') FROM orleansstorage WHERE graintypestring = 'tenant' AND grainidextensionstring = 'default'", connection);
        Assert.DoesNotContain($"disable key {id}", (string)(await row.ExecuteScalarAsync())!, StringComparison.Ordinal);
    }

    private async Task<int> TenantRowVersionAsync()
    {
        await using var connection = new NpgsqlConnection(_postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT version FROM orleansstorage WHERE graintypestring = 'tenant' AND grainidextensionstring = 'default'", connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }
}
