namespace Roxy.Grains.Caching;

/// <summary>An entry read back from PostgreSQL, with the time it stops being served.</summary>
public readonly record struct StoredEntry(CachedCompletion Entry, DateTimeOffset ExpiresAt);
