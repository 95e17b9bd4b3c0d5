using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.ML.Tokenizers;
using Roxy.Api.Proxy;

namespace Roxy.Tests.Unit.Proxy;

/// <summary>The memo of token counts gives the count a fresh tokenization gives, whatever was counted before.</summary>
public class TokenCountMemoTests
{
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForEncoding("o200k_base");
    private static readonly Tokenizer Cl100k = TiktokenTokenizer.CreateForEncoding("cl100k_base");
    private static readonly string[] Words = ["the", "proxy", "猫", "である", "ключ", "🙂", "  ", "\n", "{\"a\":1}", "rate", "limit", "x"];

    private static string Estimate(string model, string text)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"model":"{{model}}","messages":[{"role":"user","content":{{System.Text.Json.JsonSerializer.Serialize(text)}}}]}""");
        Assert.Null(ChatRequestReader.TryRead(body, out var info));
        return new TokenEstimator(1).Estimate(body, info).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void A_text_counted_again_gets_the_same_count_as_counted_fresh()
    {
        var text = string.Join(' ', Enumerable.Repeat("the quick brown fox jumps over the lazy dog", 20));
        var fresh = O200k.CountTokens(text) + O200k.CountTokens("user") + TokenEstimator.TokensPerMessage + TokenEstimator.ReplyPriming + 1;

        Assert.Equal(fresh.ToString(System.Globalization.CultureInfo.InvariantCulture), Estimate("gpt-4o", text));
        Assert.Equal(fresh.ToString(System.Globalization.CultureInfo.InvariantCulture), Estimate("gpt-4o", text));
    }

    [Fact]
    public void Each_encoding_keeps_its_own_count_for_one_text()
    {
        var text = string.Concat(Enumerable.Repeat("吾輩は猫である。名前はまだ無い。", 8));
        Assert.True(TokenCountMemo.MinChars <= text.Length);
        var o200k = Estimate("gpt-4o", text);
        var cl100k = Estimate("claude-sonnet-4-5", text);

        Assert.NotEqual(o200k, cl100k);
        Assert.Equal(o200k, Estimate("gpt-4o", text));
        Assert.Equal(cl100k, Estimate("claude-sonnet-4-5", text));
    }

    [Fact]
    public void Counts_through_the_memo_equal_fresh_counts_for_many_texts_of_equal_length()
    {
        // Texts of one length from a few words collide in slots often; each must still get its own count.
        var texts = Gen.Elements(Words).ArrayOf().Select(words => string.Concat(words)).Where(t => t.Length >= TokenCountMemo.MinChars);
        // A small table of its own, so other tests' counts never take a slot between two steps here.
        var memo = new TokenCountMemo(16);
        Prop.ForAll(texts.ToArbitrary(), text =>
        {
            var tokenizer = text.Length % 2 == 0 ? O200k : Cl100k;
            var expected = tokenizer.CountTokens(text);
            var first = memo.TryGet(tokenizer, text, out var hash, out var remembered) ? remembered : -1;
            if (first < 0)
            {
                memo.Remember(tokenizer, hash, text.Length, expected);
            }

            return (first < 0 || first == expected)
                   && memo.TryGet(tokenizer, text, out _, out var again) && again == expected
                   && !memo.TryGet(tokenizer == O200k ? Cl100k : O200k, text, out _, out _);
        }).QuickCheckThrowOnFailure();
    }
}
