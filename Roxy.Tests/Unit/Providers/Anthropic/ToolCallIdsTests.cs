using System.Security.Cryptography;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Roxy.Api.Providers.Anthropic;

namespace Roxy.Tests.Unit.Providers.Anthropic;

public class ToolCallIdsTests
{
    [Theory]
    [InlineData("toolu_01A09q90qw90lq917835lq9")]
    [InlineData("call_abc-DEF_123")]
    [InlineData("a")]
    public void Valid_ids_are_unchanged(string id) => Assert.Same(id, ToolCallIds.Sanitize(id));

    [Fact]
    public void Replaced_characters_get_a_hash_of_the_original_so_look_alikes_stay_apart()
    {
        var dotted = ToolCallIds.Sanitize("a.b");
        Assert.Equal("a_b_" + Convert.ToHexStringLower(SHA256.HashData("a.b"u8))[..12], dotted);
        Assert.NotEqual(ToolCallIds.Sanitize("a_b"), dotted);
        Assert.NotEqual(ToolCallIds.Sanitize("a|b"), dotted);
    }

    [Fact]
    public void Long_ids_are_cut_to_the_limit_and_stay_distinct()
    {
        var prefix = new string('x', 80);
        var first = ToolCallIds.Sanitize(prefix + "1");
        var second = ToolCallIds.Sanitize(prefix + "2");
        Assert.Equal(ToolCallIds.MaxLength, first.Length);
        Assert.Equal(ToolCallIds.MaxLength, second.Length);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void An_empty_id_becomes_a_valid_one() => Assert.Matches("^_[0-9a-f]{12}$", ToolCallIds.Sanitize(""));

    [Fact]
    public void Any_id_maps_to_a_valid_id_deterministically_and_idempotently()
    {
        var property = Prop.ForAll(ArbMap.Default.ArbFor<string>(), (string id) =>
        {
            id ??= "";
            var once = ToolCallIds.Sanitize(id);
            return ToolCallIds.IsValid(once)
                   && once == ToolCallIds.Sanitize(new StringBuilder(id).ToString())
                   && ToolCallIds.Sanitize(once) == once;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000), property);
    }
}
