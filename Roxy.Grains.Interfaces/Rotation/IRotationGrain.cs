using Orleans.Concurrency;

namespace Roxy.Grains.Rotation;

/// <summary>
/// One per (tenant, provider), one activation in the whole cluster: the single place that decides which key
/// serves a request, so per-key limits hold across every frontend. Rate windows live in memory.
/// </summary>
[Alias("roxy.IRotationGrain")]
public interface IRotationGrain : IGrainWithStringKey
{
    [Alias("Acquire")]
    ValueTask<KeyLease> AcquireAsync(AcquireRequest request);

    /// <summary>Credits for a busy frontend; an empty list when no key has room to spare.</summary>
    [Alias("TopUp")]
    ValueTask<IReadOnlyList<KeyCredit>> TopUpAsync(CreditRequest request);

    /// <remarks>
    /// One-way: the frontend never waits for it. Callers that retry exclude the failed key themselves, so nothing
    /// depends on the report having landed before the next <see cref="AcquireAsync"/>.
    /// </remarks>
    [Alias("Report"), OneWay]
    ValueTask ReportAsync(UsageReport report);

    /// <summary>Deferred reports a frontend flushes when no acquire carried them in time.</summary>
    [Alias("ReportMany"), OneWay]
    ValueTask ReportManyAsync(IReadOnlyList<UsageReport> reports);

    /// <summary>The tenant grain pushes the current key set whenever it changes.</summary>
    /// <remarks>Interleaves: it never awaits, and the tenant grain may push while this grain awaits the tenant.</remarks>
    [Alias("SetKeys"), AlwaysInterleave]
    Task SetKeysAsync(IReadOnlyList<ProviderKey> keys);

    [Alias("GetUsage")]
    ValueTask<IReadOnlyList<KeyUsage>> GetUsageAsync();
}
