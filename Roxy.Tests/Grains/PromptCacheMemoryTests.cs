using Microsoft.Extensions.Time.Testing;
using Roxy.Grains.Caching;
using static Roxy.Tests.Grains.PromptCacheEntries;

namespace Roxy.Tests.Grains;

/// <summary>The silo's memory tier on its own: bounded in bytes, least recently used out first, expiry by the clock.</summary>
public sealed class PromptCacheMemoryTests
{
    private static readonly string A = new('a', 64), B = new('b', 64), C = new('c', 64), D = new('d', 64);

    [Fact]
    public void Stays_within_its_byte_bound_by_evicting_the_least_recently_used()
    {
        var time = new FakeTimeProvider();
        var entry = Entry(new string('x', 1000));
        var size = PromptCacheMemory.EstimateBytes(entry);
        Assert.True(size > 2000, "UTF-16 text counts twice its length");
        var memory = new PromptCacheMemory((3 * size) + (size / 2), time);
        var until = time.GetUtcNow().AddHours(1);

        memory.Set("t", A, entry, until);
        memory.Set("t", B, entry, until);
        memory.Set("t", C, entry, until);
        Assert.True(memory.TryGet("t", A, out _)); // A is now the most recent; B the least
        memory.Set("t", D, entry, until);

        Assert.Equal(3, memory.Count);
        Assert.Equal(3 * size, memory.Bytes);
        Assert.False(memory.TryGet("t", B, out _));
        Assert.True(memory.TryGet("t", A, out _));
        Assert.True(memory.TryGet("t", C, out _));
        Assert.True(memory.TryGet("t", D, out _));

        // Replacing an entry replaces its bytes; one larger than the whole bound is not kept at all.
        memory.Set("t", A, Entry("short"), until);
        Assert.Equal((2 * size) + PromptCacheMemory.EstimateBytes(Entry("short")), memory.Bytes);
        memory.Set("t", B, Entry(new string('y', 10_000)), until);
        Assert.False(memory.TryGet("t", B, out _));
        Assert.Equal(3, memory.Count);
    }

    [Fact]
    public void Serves_an_entry_until_its_expiry_by_the_clock_and_tenants_do_not_share_keys()
    {
        var time = new FakeTimeProvider();
        var memory = new PromptCacheMemory(1 << 20, time);
        memory.Set("t1", A, Entry("one"), time.GetUtcNow().AddSeconds(30));
        memory.Set("t1", B, Entry("gone"), time.GetUtcNow()); // already expired: not kept

        Assert.False(memory.TryGet("t2", A, out _));
        Assert.True(memory.TryGet("t1", A, out var held));
        Assert.Equal("one", held.Text);
        Assert.False(memory.TryGet("t1", B, out _));

        time.Advance(TimeSpan.FromSeconds(30));
        Assert.False(memory.TryGet("t1", A, out _));
        Assert.Equal(0, memory.Count);
        Assert.Equal(0, memory.Bytes);
    }
}
