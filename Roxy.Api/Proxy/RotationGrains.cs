using System.Collections.Concurrent;
using Roxy.Grains;
using Roxy.Grains.Rotation;

namespace Roxy.Api.Proxy;

/// <summary>
/// Grain references for (tenant, provider), made once: building a reference resolves the interface type by name,
/// which costs more than the grain call itself on the hot path.
/// </summary>
public sealed class RotationGrains(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<(string Tenant, string Provider), IRotationGrain> _references = new();

    public IRotationGrain Get(string tenantId, string provider) =>
        _references.GetOrAdd((tenantId, provider), static (key, factory) =>
            factory.GetGrain<IRotationGrain>(GrainKeys.Rotation(key.Tenant, key.Provider)), grains);
}
