using Roxy.Grains.Caching;

namespace Roxy.Api.Caching;

/// <summary>What the prompt cache does for one request: look it up, store its answer, both, or (null plan) neither.</summary>
public sealed record CachePlan(CacheEntryKey Key, bool Lookup, bool Store, TimeSpan Ttl, int MaxEntryBytes);
