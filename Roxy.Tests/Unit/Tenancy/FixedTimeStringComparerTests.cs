using System.Collections.Concurrent;
using Roxy.Api.Tenancy;

namespace Roxy.Tests.Unit.Tenancy;

public class FixedTimeStringComparerTests
{
    [Theory]
    [InlineData("tok-abc", "tok-abc", true)]
    [InlineData("tok-abc", "tok-abd", false)]
    [InlineData("tok-abc", "tok-ab", false)]
    [InlineData("tok-abc", "TOK-abc", false)]
    [InlineData("", "", true)]
    public void Equality_is_ordinal(string x, string y, bool equal)
    {
        Assert.Equal(equal, FixedTimeStringComparer.Instance.Equals(x, y));
        Assert.Equal(equal, FixedTimeStringComparer.Instance.Equals(y.AsSpan(), x));
        if (equal)
        {
            Assert.Equal(FixedTimeStringComparer.Instance.GetHashCode(x), FixedTimeStringComparer.Instance.GetHashCode(y.AsSpan()));
        }
    }

    [Fact]
    public void Span_lookups_find_what_string_keys_stored()
    {
        var cache = new ConcurrentDictionary<string, int>(FixedTimeStringComparer.Instance);
        cache["tok-0123456789"] = 1;
        var lookup = cache.GetAlternateLookup<ReadOnlySpan<char>>();

        Assert.True(lookup.TryGetValue("Bearer tok-0123456789".AsSpan(7), out var found));
        Assert.Equal(1, found);
        Assert.False(lookup.TryGetValue("tok-012345678".AsSpan(), out _));
    }
}
