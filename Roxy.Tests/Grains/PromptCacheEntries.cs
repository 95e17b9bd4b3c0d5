using System.Security.Cryptography;
using Roxy.Grains;
using Roxy.Grains.Caching;

namespace Roxy.Tests.Grains;

/// <summary>Keys and entries for the prompt cache grain tests.</summary>
internal static class PromptCacheEntries
{
    public static CacheEntryKey Key(string tenant, long generation = 1, string model = "gpt-4o", string fingerprint = "fp-1") =>
        new(tenant, Convert.ToHexStringLower(SHA256.HashData(Guid.NewGuid().ToByteArray())), generation, model, fingerprint);

    public static CachedCompletion Entry(string text = "The weather in Paris is mild.") =>
        new("openai", "gpt-4o-2024-08-06", text, [new CachedToolCall("call_1", "get_weather", """{"city":"Paris"}""")], "tool_calls", 42, 17, 8);

    public static IPromptCacheGrain Grain(IGrainFactory grains, CacheEntryKey key) =>
        grains.GetGrain<IPromptCacheGrain>(GrainKeys.PromptCache(key.TenantId, key.KeyHash));

    /// <summary>Records compare lists by reference: this compares the entry's content.</summary>
    public static void AssertSame(CachedCompletion expected, CachedCompletion? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(
            (expected.Provider, expected.Model, expected.Text, expected.Finish, expected.PromptTokens, expected.CompletionTokens, expected.CachedTokens),
            (actual.Provider, actual.Model, actual.Text, actual.Finish, actual.PromptTokens, actual.CompletionTokens, actual.CachedTokens));
        Assert.Equal(expected.ToolCalls, actual.ToolCalls);
    }
}
