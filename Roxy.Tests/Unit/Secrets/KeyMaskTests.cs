using Roxy.Api.Secrets;

namespace Roxy.Tests.Unit.Secrets;

public class KeyMaskTests
{
    [Theory]
    [InlineData("sk-proj-AbCdEfGhIjKlMnOp1234abcd", "sk-…abcd")]
    [InlineData("sk-ant-api03-xxxxxxxxxxxxxxxxxxxx3f9a", "sk-…3f9a")]
    [InlineData("gsk_0123456789abcdefWXYZ", "…WXYZ")]
    [InlineData("AIzaSyA0123456789abcdef", "…cdef")]
    public void Mask_keeps_a_short_vendor_prefix_and_the_last_four(string secret, string expected)
    {
        Assert.Equal(expected, KeyMask.Of(secret));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("sk-abc")]
    [InlineData("sk-12345678")]
    public void Short_secrets_are_fully_masked(string secret)
    {
        Assert.Equal("…", KeyMask.Of(secret));
    }

    [Theory]
    [InlineData("sk-proj-AbCdEfGhIjKlMnOp1234abcd")]
    [InlineData("0123456789ab")]
    [InlineData("abcd-efghijklmnopqrstuvwxyz")]
    [InlineData("averyveryverylongsecretwithoutdashes-and-then-some")]
    [InlineData("x-yyyyyyyyyyyyyyyyy")]
    public void Mask_never_reveals_more_than_the_last_four_besides_the_prefix(string secret)
    {
        var mask = KeyMask.Of(secret);

        var ellipsis = mask.IndexOf('…', StringComparison.Ordinal);
        Assert.True(ellipsis >= 0);
        Assert.Equal(mask.LastIndexOf('…'), ellipsis);
        var prefix = mask[..ellipsis];
        var suffix = mask[(ellipsis + 1)..];
        Assert.Equal(secret[^4..], suffix);
        Assert.True(prefix.Length <= 5, prefix);
        Assert.True(prefix.Length == 0 || prefix.EndsWith('-'), prefix);
        Assert.StartsWith(prefix, secret, StringComparison.Ordinal);
        Assert.DoesNotContain(secret[..^4], mask, StringComparison.Ordinal);
    }
}
