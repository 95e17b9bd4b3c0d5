using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenAI.Chat;
using Roxy.Api.Caching;
using Roxy.Api.Tenancy;
using Roxy.Grains;
using Roxy.Grains.Caching;
using Roxy.Grains.Tenancy;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// <c>#roxy cache stats</c>, <c>#roxy cache clear</c> and the cache lines of <c>#roxy status</c>, typed into a chat through
/// the official OpenAI SDK. Entries are stored through the real prompt cache grains; hits and misses are counted by the
/// frontend's real recorder (the pipeline calls the same methods).
/// </summary>
public sealed class CacheCommandTests(CacheCommandTests.Host host) : IClassFixture<CacheCommandTests.Host>
{
    private static string Admin(string tenant) => $"adm-cache-{tenant}-0123456789";

    private static string Member(string tenant) => $"mem-cache-{tenant}-0123456789";

    private RoxyTestHost Roxy => host.Roxy;

    private CacheStatsRecorder Recorder => Roxy.App.Services.GetRequiredService<CacheStatsRecorder>();

    private async Task<string> SayAsync(string token, string text)
    {
        ChatCompletion reply = await Roxy.Chat("anything", token).CompleteChatAsync([new UserChatMessage(text)]);
        Assert.Equal("roxy", reply.Model);
        return reply.Content[0].Text;
    }

    [Fact]
    public async Task Stats_show_entries_hits_misses_and_savings_to_any_role_and_count_nothing_twice()
    {
        const string tenant = "stats";
        await StoreAsync(tenant, generation: 0, count: 2);
        Recorder.Hit(tenant, "openai", "gpt-4o-2024-08-06", 1000, 500);
        Recorder.Hit(tenant, "openai", "gpt-4o-2024-08-06", 1000, 500);
        Recorder.Hit(tenant, "local", "house-llm", 10, 20);
        Recorder.Miss(tenant);
        Recorder.Miss(tenant);

        var stats = await EventuallySaysAsync(Member(tenant), "#roxy cache stats", "\n| 2 | "); // the entries column
        Assert.Contains("enabled, mode deterministic, TTL 600s, entries up to 2.0 KiB", stats, StringComparison.Ordinal);
        Assert.Contains(" | 3 | 2 | 60.0 % |", stats, StringComparison.Ordinal);
        Assert.Contains("| openai | `gpt-4o-2024-08-06` | 2 | 2000 / 1000 | $0.0150 |", stats, StringComparison.Ordinal);
        Assert.Contains("| local | `house-llm` | 1 | 10 / 20 | unpriced |", stats, StringComparison.Ordinal);
        Assert.Contains("| **total** | | 3 | 2010 / 1020 | $0.0150 |", stats, StringComparison.Ordinal);
        Assert.Contains("Unpriced (no built-in price, counted as $0): `house-llm`.", stats, StringComparison.Ordinal);

        // Once the flusher has reported them to the grain, the same numbers: counted once, not pending and stored.
        await Eventually.TrueAsync(() => Task.FromResult(Recorder.Pending(tenant) is null), TimeSpan.FromSeconds(5), "the flusher reports within a second");
        Assert.Equal(stats, await SayAsync(Admin(tenant), "#roxy cache stats"));

        Assert.Contains("takes no arguments", await SayAsync(Member(tenant), "#roxy cache stats now"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clear_is_for_admins_audited_bumps_the_generation_at_once_and_makes_the_entries_unreachable()
    {
        const string tenant = "clear";
        await StoreAsync(tenant, generation: 0, count: 3);
        await EventuallySaysAsync(Admin(tenant), "#roxy cache stats", "\n| 3 | ");

        var refused = await SayAsync(Member(tenant), "#roxy cache clear");
        Assert.Contains("`#roxy cache clear` needs an admin token", refused, StringComparison.Ordinal);
        Assert.Equal(0, (await Snapshots.GetAsync(tenant)).CacheGeneration);

        var cleared = await SayAsync(Admin(tenant), "#roxy cache clear");
        Assert.Contains("3 entries are no longer reachable (generation 1)", cleared, StringComparison.Ordinal);
        // This frontend's own copy of the tenant has the new generation before the next request.
        Assert.Equal(1, (await Snapshots.GetAsync(tenant)).CacheGeneration);

        var audit = await Roxy.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant)).GetAuditAsync(10);
        var entry = Assert.Single(audit, a => a.Action == "cache clear");
        Assert.Equal("chat", entry.Channel);

        Assert.Contains("\n| 0 | 0 B |", await SayAsync(Member(tenant), "#roxy cache stats"), StringComparison.Ordinal);
        await Eventually.TrueAsync(async () => await LiveRowsAsync(tenant) == 0, because: "the old generation's rows expire in the background");
        Assert.Contains("0 entries are no longer reachable (generation 2)", await SayAsync(Admin(tenant), "#roxy cache clear"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_has_the_cache_settings_entries_and_hit_ratio()
    {
        const string tenant = "status";
        await StoreAsync(tenant, generation: 0, count: 1);
        Recorder.Hit(tenant, "openai", "gpt-4o-mini", 5, 5);
        Recorder.Miss(tenant);
        Recorder.Miss(tenant);
        Recorder.Miss(tenant);

        var status = await EventuallySaysAsync(Admin(tenant), "#roxy status", "1 entries");
        Assert.Contains("Prompt cache: disabled, mode all, TTL 3600s · 1 entries (", status, StringComparison.Ordinal);
        Assert.Contains("hit ratio 25.0 % (1 hits, 3 misses)", status, StringComparison.Ordinal);
        Assert.Contains("needs an admin token", await SayAsync(Member(tenant), "#roxy status"), StringComparison.Ordinal);
    }

    private TenantSnapshotCache Snapshots => Roxy.App.Services.GetRequiredService<TenantSnapshotCache>();

    private async Task<string> EventuallySaysAsync(string token, string command, string expected)
    {
        var text = "";
        await Eventually.TrueAsync(async () => (text = await SayAsync(token, command)).Contains(expected, StringComparison.Ordinal),
            because: $"'{command}' should come to say '{expected}'");
        return text;
    }

    private async Task StoreAsync(string tenant, long generation, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Guid.NewGuid().ToByteArray()));
            var key = new CacheEntryKey(tenant, hash, generation, "gpt-4o", "fp");
            var entry = new CachedCompletion("openai", "gpt-4o-2024-08-06", $"cached answer {i}", [], "stop", 12, 3, 0);
            await Roxy.Grains.GetGrain<IPromptCacheGrain>(GrainKeys.PromptCache(tenant, hash)).StoreAsync(key, entry, DateTimeOffset.UtcNow.AddHours(1));
        }
    }

    private async Task<long> LiveRowsAsync(string tenant)
    {
        await using var connection = new NpgsqlConnection(host.Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM roxy_prompt_cache WHERE tenant_id = @tenant AND expires_at > now()", connection);
        command.Parameters.AddWithValue("tenant", tenant);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>One Roxy for the class; tenants with their own cache settings, each with an admin and a member token.</summary>
    public sealed class Host : IAsyncLifetime
    {
        public RoxyTestHost Roxy { get; private set; } = null!;
        public string Postgres { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("cache_commands");
            string[] tenants = ["stats", "clear", "status"];
            var environment = new Dictionary<string, string?>(StringComparer.Ordinal) { ["ROXY_TOKEN"] = "cache-default-token-0123456789" };
            foreach (var t in tenants)
            {
                environment[$"T_{t.ToUpperInvariant()}_ADMIN"] = Admin(t);
                environment[$"T_{t.ToUpperInvariant()}_MEMBER"] = Member(t);
            }

            Roxy = await RoxyTestHost.StartAsync(
                $$"""
                tokens: [{ token_env: ROXY_TOKEN, role: admin }]
                tenants:
                  - id: stats
                    tokens: [{ token_env: T_STATS_ADMIN, role: admin }, { token_env: T_STATS_MEMBER, role: member }]
                    cache: { enabled: true, ttl_sec: 600, mode: deterministic, max_entry_bytes: 2048 }
                  - id: clear
                    tokens: [{ token_env: T_CLEAR_ADMIN, role: admin }, { token_env: T_CLEAR_MEMBER, role: member }]
                  - id: status
                    tokens: [{ token_env: T_STATUS_ADMIN, role: admin }, { token_env: T_STATUS_MEMBER, role: member }]
                    cache: { enabled: false }
                """,
                environment,
                Postgres);
        }

        public async Task DisposeAsync() => await Roxy.DisposeAsync();
    }
}
