using System.Collections.Concurrent;
using Roxy.Grains;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Proxy;

/// <summary>
/// This frontend's channels to rotation grains, one per (tenant, provider). A channel holds the grain reference
/// (building one resolves the interface type by name, which costs more than the call), the usage reports that
/// ride along with the next acquire, and the credits a busy channel holds for its next requests.
/// </summary>
public sealed class RotationGrains(IGrainFactory grains, TimeProvider time, ILogger<RotationChannel> logger)
{
    private readonly ConcurrentDictionary<(string Tenant, string Provider), RotationChannel> _channels = new();

    public RotationChannel Get(string tenantId, string provider) =>
        _channels.GetOrAdd((tenantId, provider), static (key, state) =>
            new RotationChannel(state.grains.GetGrain<IRotationGrain>(GrainKeys.Rotation(key.Tenant, key.Provider)), state.time, state.logger), (grains, time, logger));

    public IEnumerable<RotationChannel> All => _channels.Values;
}
