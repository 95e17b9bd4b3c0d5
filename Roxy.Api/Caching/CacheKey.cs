namespace Roxy.Api.Caching;

/// <summary>A request's prompt cache key, and what its canonical form said about whether it may be cached.</summary>
/// <param name="Hash">SHA-256, 64 lowercase hex digits.</param>
/// <param name="Deterministic"><c>temperature: 0</c> or a <c>seed</c>: what <c>cache.mode: deterministic</c> caches.</param>
/// <param name="Uncacheable">Why the request is never cached (<c>n &gt; 1</c>, …); null when it may be.</param>
public readonly record struct CacheKey(string Hash, bool Deterministic, string? Uncacheable);
