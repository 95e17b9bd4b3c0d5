using System.Net;
using Npgsql;
using Roxy.Api.Secrets;
using Roxy.Grains;
using Roxy.Grains.Routing;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Applying the YAML is interrupted (the process dies, or a PostgreSQL write fails) between its steps: the next
/// start converges anyway, and no grain shows memory that storage does not hold.
/// </summary>
public sealed class ConfigApplyRecoveryTests : IAsyncLifetime
{
    private const string AcmeToken = "acme-admin-token-0123456789";
    private const string BetaToken = "beta-admin-token-0123456789";
    private string _postgres = null!;

    public async Task InitializeAsync() => _postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("apply_recovery");

    public Task DisposeAsync() => Task.CompletedTask;

    private static Dictionary<string, string?> Env() => new(StringComparer.Ordinal)
    {
        ["ROXY_TOKEN"] = "default-admin-token-0123456789",
        ["ACME_TOKEN"] = AcmeToken,
        ["BETA_TOKEN"] = BetaToken,
    };

    private static string Yaml(bool withBeta) => $$"""
        tokens: [{ token_env: ROXY_TOKEN, role: admin }]
        tenants:
          - id: acme
            tokens: [{ token_env: ACME_TOKEN, role: admin }]
        {{(withBeta ? "  - id: beta\n    tokens: [{ token_env: BETA_TOKEN, role: admin }]" : "")}}
        """;

    [Fact]
    public async Task A_tenant_removed_from_the_yaml_is_emptied_even_when_the_last_apply_died_halfway()
    {
        await using (var first = await RoxyTestHost.StartAsync(Yaml(withBeta: true), Env(), _postgres))
        {
            Assert.Equal(HttpStatusCode.OK, (await first.SendAsync(HttpMethod.Get, "v1/models", BetaToken)).StatusCode);

            // An apply of the YAML without beta recorded the new tenant list, then the process died before emptying beta.
            await first.Grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry).SetConfiguredTenantsAsync(["default", "acme"], "interrupted");
        }

        await using var second = await RoxyTestHost.StartAsync(Yaml(withBeta: false), Env(), _postgres);
        Assert.Equal(HttpStatusCode.Unauthorized, (await second.SendAsync(HttpMethod.Get, "v1/models", BetaToken)).StatusCode);
        Assert.Empty((await second.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("beta")).GetSnapshotAsync()).Tokens);
        Assert.Equal(HttpStatusCode.OK, (await second.SendAsync(HttpMethod.Get, "v1/models", AcmeToken)).StatusCode);
    }

    [Fact]
    public async Task Tokens_the_registry_missed_are_pushed_again_at_the_next_start()
    {
        const string revoked = "revoked-token-0123456789";
        await using (var first = await RoxyTestHost.StartAsync(Yaml(withBeta: false), Env(), _postgres))
        {
            // The tenant grain saved its new tokens, but its push to the registry failed: the registry still lists an old one.
            var current = (await first.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("acme")).GetSnapshotAsync()).Tokens;
            await first.Grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry).SetTenantTokensAsync(
                "acme", [.. current, new TenantToken("t-revoked", SecretFingerprint.OfToken(revoked), TenantRole.Admin, Owner.Config)]);
        }

        await using var second = await RoxyTestHost.StartAsync(Yaml(withBeta: false), Env(), _postgres);
        Assert.Equal(HttpStatusCode.Unauthorized, (await second.SendAsync(HttpMethod.Get, "v1/models", revoked)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second.SendAsync(HttpMethod.Get, "v1/models", AcmeToken)).StatusCode);
    }

    [Fact]
    public async Task Registry_does_not_hand_out_tokens_whose_write_failed()
    {
        await using var roxy = await RoxyTestHost.StartAsync(Yaml(withBeta: false), Env(), _postgres);
        var registry = roxy.Grains.GetGrain<ITenantRegistryGrain>(GrainKeys.Registry);
        var current = (await roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("acme")).GetSnapshotAsync()).Tokens;
        var added = new TenantToken("t-added", SecretFingerprint.OfToken("added-token-0123456789"), TenantRole.Member, Owner.Runtime);
        var version = await registry.GetVersionAsync();

        await using (await FailingWritesAsync("registry", GrainKeys.Registry))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => registry.SetTenantTokensAsync("acme", [.. current, added]));
        }

        var directory = await registry.GetTokenDirectoryAsync();
        Assert.DoesNotContain(directory.Entries, e => e.Hash == added.Hash);
        Assert.Equal(version, directory.Version);

        await registry.SetTenantTokensAsync("acme", [.. current, added]);
        Assert.Contains((await registry.GetTokenDirectoryAsync()).Entries, e => e.Hash == added.Hash);
    }

    [Fact]
    public async Task Tenant_config_whose_write_failed_is_written_by_the_next_apply()
    {
        await using var roxy = await RoxyTestHost.StartAsync(Yaml(withBeta: false), Env(), _postgres);
        var tenant = roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant("acme"));
        var tokens = (await tenant.GetSnapshotAsync()).Tokens;
        var changed = new TenantConfigSnapshot(
            "changed", tokens, [],
            [new ModelRule("recovered-model", [new RuleTarget("openai", "gpt-4o-mini")], SelectionPolicy.Fallback, false, Owner.Config)],
            new CacheSettings(true, 3600, false), true);

        await using (await FailingWritesAsync("tenant", "acme"))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => tenant.ApplyConfigAsync(changed));
        }

        Assert.DoesNotContain((await tenant.GetSnapshotAsync()).Rules, r => r.SourceModel == "recovered-model");

        await tenant.ApplyConfigAsync(changed);
        Assert.Contains("recovered-model", await StoredJsonAsync("tenant", "acme"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_claim_whose_write_failed_is_not_held_in_memory()
    {
        await using var roxy = await RoxyTestHost.StartAsync(Yaml(withBeta: false), Env(), _postgres);
        var fingerprint = SecretFingerprint.OfKey("sk-claimed-0123456789abcdef");
        var key = roxy.Grains.GetGrain<Roxy.Grains.Keys.IApiKeyGrain>(fingerprint);
        Assert.Null(await key.GetHolderTenantAsync());

        await using (await FailingWritesAsync("apikey", fingerprint))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => key.ClaimAsync("acme", "k-claimed"));
        }

        Assert.Null(await key.GetHolderTenantAsync());
        Assert.True(await key.ClaimAsync("acme", "k-claimed"));
        Assert.Contains("acme", await StoredJsonAsync("apikey", fingerprint), StringComparison.Ordinal);
    }

    /// <summary>
    /// Makes PostgreSQL refuse every write of one grain's row until disposed: a storage failure that, unlike an etag
    /// conflict, does not make Orleans drop the activation.
    /// </summary>
    private async Task<IAsyncDisposable> FailingWritesAsync(string grainType, string key)
    {
        var name = $"roxy_test_fail_{grainType}";
        await ExecuteAsync($"""
            CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated storage failure'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON orleansstorage FOR EACH ROW
                WHEN (NEW.graintypestring = '{grainType}' AND NEW.grainidextensionstring = '{key}') EXECUTE FUNCTION {name}();
            """);
        return new Restore(() => ExecuteAsync($"DROP TRIGGER {name} ON orleansstorage"));
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<string> StoredJsonAsync(string grainType, string key)
    {
        await using var connection = new NpgsqlConnection(_postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT convert_from(payloadbinary, 'UTF8') FROM orleansstorage WHERE graintypestring = @type AND grainidextensionstring = @key", connection);
        command.Parameters.AddWithValue("type", grainType);
        command.Parameters.AddWithValue("key", key);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private sealed class Restore(Func<Task> undo) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await undo();
    }
}
