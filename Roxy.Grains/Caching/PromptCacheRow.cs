namespace Roxy.Grains.Caching;

/// <summary>One row on its way to <c>roxy_prompt_cache</c>: the entry already as its stored UTF-8 JSON.</summary>
public sealed record PromptCacheRow(CacheEntryKey Key, byte[] Entry, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt);
