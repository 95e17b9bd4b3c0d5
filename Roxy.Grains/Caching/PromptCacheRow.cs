namespace Roxy.Grains.Caching;

/// <summary>
/// One row on its way to <c>roxy_prompt_cache</c>: the entry already as its stored UTF-8 JSON, and the shard activation
/// that stored it, whose epoch the write must still hold (<see cref="PromptCacheShard"/>). Without a shard (rows
/// written by tools and tests, never by a shard grain) the write is unconditional.
/// </summary>
public sealed record PromptCacheRow(CacheEntryKey Key, byte[] Entry, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt, PromptCacheShard? Shard = null);
