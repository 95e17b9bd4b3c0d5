namespace Roxy.Api.Administration;

/// <summary>What clearing the cache did: how many entries were reachable just before, and the generation now in use.</summary>
public sealed record CacheClearResult(long Unreachable, long Generation);
