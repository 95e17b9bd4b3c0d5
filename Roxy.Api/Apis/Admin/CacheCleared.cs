namespace Roxy.Api.Apis.Admin;

/// <summary>The entries a clear made unreachable (counted just before it) and the cache generation now in use.</summary>
public sealed record CacheCleared(long Unreachable, long Generation)
{
    public static CacheCleared Example { get; } = new(42, 3);
}
