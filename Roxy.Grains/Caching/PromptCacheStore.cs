using Npgsql;

namespace Roxy.Grains.Caching;

/// <summary>The prompt cache's PostgreSQL table, <c>roxy_prompt_cache</c> (Sql/roxy-prompt-cache.sql).</summary>
public sealed class PromptCacheStore(NpgsqlDataSource database, string serviceId) : IAsyncDisposable
{
    public string ServiceId => serviceId;

    public ValueTask DisposeAsync() => database.DisposeAsync();

    /// <summary>After a clear: every row of the tenant below <paramref name="generation"/> expires now (batched, background).</summary>
    public Task ExpireGenerationsBelowAsync(string tenantId, long generation) => throw new NotImplementedException();

    /// <summary>
    /// After a rule change: every row made for <paramref name="requestedModel"/> under another fingerprint than
    /// <paramref name="currentFingerprint"/> (all of them when null) expires now (batched, background).
    /// </summary>
    public Task ExpireRuleAsync(string tenantId, string requestedModel, string? currentFingerprint) => throw new NotImplementedException();
}
