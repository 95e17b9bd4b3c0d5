using Orleans.Concurrency;

namespace Roxy.Grains.Tracing;

/// <summary>
/// One per tenant (key: tenant id): the tenant's recent request traces, at least the last 10,000, readable from any
/// frontend. Frontends send them in batches, one-way, off the request path.
/// </summary>
[Alias("roxy.IRequestTraceGrain")]
public interface IRequestTraceGrain : IGrainWithStringKey
{
    [OneWay, Alias("Record")]
    Task RecordAsync(IReadOnlyList<RequestTrace> traces);

    /// <summary>The trace of <paramref name="requestId"/>, or null when it is not (or no longer) kept.</summary>
    [Alias("Find")]
    Task<RequestTrace?> FindAsync(string requestId);

    /// <summary>Forgets every trace of the tenant, in memory and stored (the tenant was deleted).</summary>
    [Alias("DeleteAll")]
    Task DeleteAllAsync();
}
