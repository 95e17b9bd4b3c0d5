using Roxy.Api.Protocols;

namespace Roxy.Api.Caching;

/// <summary>
/// The prompt cache key: a SHA-256 over the tenant, its cache generation, the requested model, the route's fingerprint,
/// the client's protocol and the canonical request (RFC 8785-style: key order, whitespace and number spelling do not matter).
/// </summary>
public static class CacheKeys
{
    public static CacheKey Compute(
        ReadOnlySpan<byte> body, WireProtocol protocol, string tenantId, long generation, string requestedModel, string ruleFingerprint) =>
        throw new NotImplementedException();
}
