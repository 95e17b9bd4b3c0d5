using Roxy.Grains;
using Roxy.Grains.Rotation;
using Roxy.Grains.Tenancy;
using Roxy.Grains.Tracing;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>
/// The rotation grain's leases say which keys were passed over and why (for <c>#roxy why</c>), through real grain calls
/// on two silos: disabled by an admin or by the provider, cooling, no headroom, too small, already tried.
/// </summary>
public sealed class KeySkipGrainTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private static ProviderKey Key(string id, int rpm = 100, int tpm = 100_000, bool enabled = true, string? disabledReason = null) =>
        new(id, "openai", "fp-" + id, KeySource.Config, "VAR_" + id, "sk-…" + id, rpm, tpm, 30, Owner.Config, enabled, disabledReason);

    private async Task<IRotationGrain> RotationAsync(string tenant, params ProviderKey[] keys)
    {
        await fixture.Grains.GetGrain<ITenantGrain>(GrainKeys.Tenant(tenant))
            .ApplyConfigAsync(new TenantConfigSnapshot("f-" + tenant, [], keys, [], new CacheSettings(false, 0, false), true));
        return fixture.Grains.GetGrain<IRotationGrain>(GrainKeys.Rotation(tenant, "openai"));
    }

    private static UsageReport Report(KeyLease lease, UpstreamOutcome outcome) =>
        new(lease.Key!.Id, lease.LeaseId, 0, outcome, null, null, null, null);

    [Fact]
    public async Task Healthy_keys_that_were_merely_not_their_turn_are_not_skipped()
    {
        var rotation = await RotationAsync("skip-none", Key("a"), Key("b"));
        var leases = new List<KeyLease>();
        for (var i = 0; i < 6; i++)
        {
            leases.Add(await rotation.AcquireAsync(new AcquireRequest(10, null)));
        }

        Assert.All(leases, l => Assert.Equal(LeaseStatus.Granted, l.Status));
        Assert.All(leases, l => Assert.Null(l.Skipped));
        Assert.Equal(["a", "b"], leases.Select(l => l.Key!.Id).Distinct().Order());
    }

    [Fact]
    public async Task Each_key_passed_over_says_why()
    {
        var rotation = await RotationAsync(
            "skip-reasons",
            Key("off", enabled: false, disabledReason: "admin"),
            Key("refused"),
            Key("cool"),
            Key("full", rpm: 1),
            Key("tiny", tpm: 50));

        // One lease on each of the three healthy keys, the others excluded as a request's earlier attempts would be.
        var refused = await rotation.AcquireAsync(new AcquireRequest(100, ["cool", "full"]));
        Assert.Equal(("refused", LeaseStatus.Granted), (refused.Key!.Id, refused.Status));
        var skips = refused.Skipped!.ToDictionary(s => s.KeyId);
        Assert.Equal(["cool", "full", "off", "tiny"], skips.Keys.Order());
        Assert.Equal(new KeySkip("off", KeySkipReason.Disabled, null, "admin"), skips["off"]);
        Assert.Equal(new KeySkip("cool", KeySkipReason.Excluded, null, null), skips["cool"]);
        Assert.Equal(new KeySkip("full", KeySkipReason.Excluded, null, null), skips["full"]);
        Assert.Equal(new KeySkip("tiny", KeySkipReason.TooSmall, null, null, 50), skips["tiny"]);

        var cool = await rotation.AcquireAsync(new AcquireRequest(100, ["refused", "full"]));
        Assert.Equal("cool", cool.Key!.Id);
        var beforeFull = DateTimeOffset.UtcNow;
        var full = await rotation.AcquireAsync(new AcquireRequest(100, ["refused", "cool"]));
        Assert.Equal("full", full.Key!.Id);

        // The provider refuses one key (401) and rate-limits another (cooldown 30 s); "full" has used its one request.
        var beforeReport = DateTimeOffset.UtcNow;
        // The reports ride on the acquire, as a frontend's deferred reports do, so they land before it.
        var none = await rotation.AcquireAsync(new AcquireRequest(100, null, [Report(refused, UpstreamOutcome.AuthFailed), Report(cool, UpstreamOutcome.RateLimited)]));
        var after = DateTimeOffset.UtcNow;

        Assert.Equal(LeaseStatus.Exhausted, none.Status);
        skips = none.Skipped!.ToDictionary(s => s.KeyId);
        Assert.Equal(["cool", "full", "off", "refused", "tiny"], skips.Keys.Order());
        Assert.Equal(new KeySkip("off", KeySkipReason.Disabled, null, "admin"), skips["off"]);
        Assert.Equal(new KeySkip("refused", KeySkipReason.Disabled, null, "auth"), skips["refused"]);
        Assert.Equal(KeySkipReason.TooSmall, skips["tiny"].Reason);

        var cooling = skips["cool"];
        Assert.Equal((KeySkipReason.Cooling, null), (cooling.Reason, cooling.Detail));
        Assert.Equal(TimeSpan.Zero, cooling.Until!.Value.Offset);
        Assert.InRange(cooling.Until.Value, beforeReport.AddSeconds(30).AddSeconds(-1), after.AddSeconds(30).AddSeconds(1));

        var noRoom = skips["full"];
        Assert.Equal((KeySkipReason.NoHeadroom, "max_rpm"), (noRoom.Reason, noRoom.Detail));
        Assert.InRange(noRoom.Until!.Value, beforeFull.AddSeconds(59), after.AddSeconds(61));
    }
}
