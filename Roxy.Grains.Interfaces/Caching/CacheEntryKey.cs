namespace Roxy.Grains.Caching;

/// <summary>
/// Where a cache entry lives: the tenant and the SHA-256 of everything that decides the answer (64 lowercase hex
/// digits). The generation, model and rule fingerprint are inside the hash already; they are kept beside it so that
/// entries made unreachable by a clear or a rule change can be found and removed in the background.
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.CacheEntryKey")]
public sealed record CacheEntryKey(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string KeyHash,
    [property: Id(2)] long Generation,
    [property: Id(3)] string RequestedModel,
    [property: Id(4)] string RuleFingerprint);
