using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Proxy;

namespace Roxy.Tests.Unit.Inbound.Anthropic;

public class MessagesTokenEstimateTests
{
    private const string Sentence = "The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun.";

    private static readonly Tokenizer Cl100k = TiktokenTokenizer.CreateForEncoding("cl100k_base");
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForEncoding("o200k_base");

    private static readonly TokenEstimator Estimator = new(4096);

    private static (int Total, int Prompt) Estimate(string json, bool countTokens = false, string? upstreamModel = null)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var invalid = MessagesRequestReader.TryRead(body, countTokens, out var info);
        Assert.True(invalid is null, invalid?.Message);
        var total = Estimator.EstimateMessages(body, info, upstreamModel, out var prompt);
        return (total, prompt);
    }

    private static int Prompt(string json) => Estimate(json, countTokens: true).Prompt;

    private static string Body(string messages, string extra = "") =>
        $$"""{"model":"claude-sonnet-4-5","messages":{{messages}}{{extra}}}""";

    private static string Quoted(string text) => JsonSerializer.Serialize(text);

    [Fact]
    public void A_user_sentence_is_counted_with_the_tokenizer_and_chat_framing()
    {
        var prompt = Prompt(Body($$"""[{"role":"user","content":{{Quoted(Sentence)}}}]"""));

        var expected = Cl100k.CountTokens(Sentence) + Cl100k.CountTokens("user") + TokenEstimator.TokensPerMessage + TokenEstimator.ReplyPriming;
        Assert.Equal(expected, prompt);
    }

    [Fact]
    public void The_smallest_request_is_never_zero()
    {
        Assert.True(Prompt(Body("""[{"role":"user","content":""}]""")) >= 1);
        Assert.True(Prompt(Body("""[{"role":"user","content":[]}]""")) >= 1);
    }

    [Fact]
    public void The_same_text_costs_the_same_as_a_string_or_as_text_blocks()
    {
        var asString = Prompt(Body($$"""[{"role":"user","content":{{Quoted(Sentence)}}}]"""));
        var asBlock = Prompt(Body($$$"""[{"role":"user","content":[{"type":"text","text":{{{Quoted(Sentence)}}},"cache_control":{"type":"ephemeral"}}]}]"""));
        Assert.Equal(asString, asBlock);
    }

    [Fact]
    public void The_upstream_model_chooses_the_encoding_as_for_chat()
    {
        const string japanese = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。";
        var json = Body($$"""[{"role":"user","content":{{Quoted(japanese)}}}]""", ""","max_tokens":10""");
        var (_, claude) = Estimate(json);
        var (_, gpt) = Estimate(json, upstreamModel: "gpt-4o");

        Assert.Equal(Cl100k.CountTokens(japanese) - O200k.CountTokens(japanese), claude - gpt);
        Assert.NotEqual(claude, gpt);
    }

    [Fact]
    public void A_system_prompt_adds_its_text_and_a_message_frame()
    {
        var without = Prompt(Body("""[{"role":"user","content":"hi"}]"""));
        var asString = Prompt(Body("""[{"role":"user","content":"hi"}]""", $$""","system":{{Quoted(Sentence)}}"""));
        var asBlocks = Prompt(Body("""[{"role":"user","content":"hi"}]""", $$""","system":[{"type":"text","text":{{Quoted(Sentence)}}}]"""));

        Assert.Equal(without + Cl100k.CountTokens(Sentence) + TokenEstimator.TokensPerMessage + 1, asString);
        Assert.Equal(asString, asBlocks);
    }

    [Fact]
    public void Tools_add_their_json_size_over_four()
    {
        const string tools = """[{"name":"get_weather","description":"Current weather for a city.","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]""";
        var without = Prompt(Body("""[{"role":"user","content":"hi"}]"""));
        var with = Prompt(Body("""[{"role":"user","content":"hi"}]""", ""","tools":""" + tools));

        Assert.Equal(without + (tools.Length / 4), with);
    }

    [Fact]
    public void Images_are_counted_at_the_flat_image_price_whatever_their_size()
    {
        var small = Prompt(Body("""[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]"""));
        var large = Prompt(Body($$$"""[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"{{{new string('A', 400_000)}}}"}}]}]"""));
        var url = Prompt(Body("""[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://e.com/a.png"}},{"type":"image","source":{"type":"url","url":"https://e.com/b.png"}}]}]"""));
        var none = Prompt(Body("""[{"role":"user","content":[]}]"""));

        Assert.Equal(none + TokenEstimator.ImageTokens, small);
        Assert.Equal(small, large);
        Assert.Equal(none + (2 * TokenEstimator.ImageTokens), url);
    }

    [Fact]
    public void Tool_use_input_and_tool_results_are_counted_and_thinking_is_not()
    {
        const string input = """{"command":"ls -la /var/log","timeout":120}""";
        const string result = "total 48\ndrwxr-xr-x 12 root root 4096 syslog auth.log kern.log";
        var history = Prompt(Body($$"""
            [{"role":"user","content":"list"},
             {"role":"assistant","content":[{"type":"thinking","thinking":{{Quoted(Sentence + Sentence)}},"signature":"sig"},{"type":"tool_use","id":"toolu_1","name":"bash","input":{{input}}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":{{Quoted(result)}}}]}]}]
            """));
        var framing = (3 * TokenEstimator.TokensPerMessage) + TokenEstimator.ReplyPriming
                      + (2 * Cl100k.CountTokens("user")) + Cl100k.CountTokens("assistant") + Cl100k.CountTokens("list");
        var expected = framing + Cl100k.CountTokens("bash") + Cl100k.CountTokens(input)
                       + Cl100k.CountTokens("toolu_1") + Cl100k.CountTokens(result);

        Assert.Equal(expected, history);
    }

    [Fact]
    public void A_plain_text_document_counts_its_text()
    {
        var none = Prompt(Body("""[{"role":"user","content":[]}]"""));
        var document = Prompt(Body($$$"""[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":{{{Quoted(Sentence)}}}}}]}]"""));

        Assert.Equal(none + Cl100k.CountTokens(Sentence), document);
    }

    [Fact]
    public void The_reservation_is_prompt_plus_max_tokens_or_the_default()
    {
        var json = Body("""[{"role":"user","content":"hi"}]""", ""","max_tokens":777""");
        var (total, prompt) = Estimate(json);
        Assert.Equal(prompt + 777, total);

        var (countTotal, countPrompt) = Estimate(json, countTokens: true);
        Assert.Equal(prompt, countPrompt);
        Assert.Equal(countPrompt + 4096, countTotal);
    }

    [Fact]
    public void Long_texts_are_sampled_as_chat_texts_are()
    {
        var text = string.Concat(Enumerable.Repeat(Sentence + " ", 3000));
        var prompt = Prompt(Body($$"""[{"role":"user","content":[{"type":"text","text":{{Quoted(text)}}}]}]"""));

        var exact = Cl100k.CountTokens(text);
        Assert.InRange(prompt, exact * 0.9, exact * 1.3);
    }

    [Fact]
    public void A_body_that_cannot_be_walked_falls_back_to_its_size()
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"m","messages":[{"role":"user","content":"hi"}],"x":""" + new string('[', 300) + new string(']', 300) + "}");
        var info = new MessagesRequestInfo { Model = "m" };

        Estimator.EstimateMessages(body, info, null, out var prompt);

        Assert.Equal(body.Length / 4, prompt);
    }
}
