using System.Text;
using Roxy.Api.Inbound.Anthropic;

namespace Roxy.Tests.Unit.Inbound.Anthropic;

public class MessagesHistoryStripperTests
{
    private const string Secret = "sk-ant-api03-SECRET-0123456789";

    private static string Strip(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        Assert.Null(MessagesRequestReader.TryRead(body, countTokens: false, out _));
        using var stripped = MessagesHistoryStripper.Strip(body);
        return Encoding.UTF8.GetString(stripped.Span);
    }

    [Fact]
    public void A_command_turn_and_its_answer_are_gone_and_everything_else_is_byte_identical()
    {
        // Odd spacing, escapes and Anthropic-only fields on purpose: only the two turns may change.
        const string before = """{ "model":"claude-sonnet-4-5", "max_tokens" : 512, "system":[{"type":"text","text":"be \"brief\"","cache_control":{"type":"ephemeral"}}],"messages" : [""";
        const string first = """{"role":"user","content":[{"type":"text","text":"hi \u00e9"}]}""";
        const string second = """{"role":"assistant","content":[{"type":"thinking","thinking":"…","signature":"sig=="},{"type":"text","text":"hello"}]}""";
        const string command = $$"""{"role":"user","content":[{"type":"text","text":"<system-reminder>ctx</system-reminder>"},{"type":"text","text":"#roxy add key anthropic {{Secret}}"}]}""";
        const string answer = """{"role":"assistant","content":[{"type":"text","text":"Added key anthropic …6789."}]}""";
        const string last = """{ "role" : "user", "content" : "go on" }""";
        const string after = """ ],"thinking":{"type":"enabled","budget_tokens":1024},"stream":true}""";

        var stripped = Strip(before + first + ",\n  " + second + "," + command + "," + answer + ",  " + last + after);

        Assert.DoesNotContain(Secret, stripped, StringComparison.Ordinal);
        Assert.DoesNotContain("Added key", stripped, StringComparison.Ordinal);
        // The array is rebuilt from the kept turns, each copied as it was; the bytes around it are untouched.
        Assert.Equal(before + first + "," + second + "," + last + "]" + after[2..], stripped);
    }

    [Fact]
    public void A_system_turn_between_a_command_and_its_answer_does_not_save_the_answer()
    {
        // Claude Code appends a system turn after each user turn under one of its betas.
        var stripped = Strip($$"""
            {"model":"m","max_tokens":5,"messages":[{"role":"user","content":"#roxy add key openai {{Secret}}"},{"role":"system","content":"# Environment"},
             {"role":"assistant","content":"Added key openai …6789."},{"role":"user","content":"go on"}]}
            """);

        Assert.DoesNotContain(Secret, stripped, StringComparison.Ordinal);
        Assert.DoesNotContain("Added key", stripped, StringComparison.Ordinal);
        Assert.Contains("# Environment", stripped, StringComparison.Ordinal);
        Assert.Contains("go on", stripped, StringComparison.Ordinal);
    }

    [Fact]
    public void A_body_without_commands_is_copied_unchanged()
    {
        const string json = """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}""";
        Assert.Equal(json, Strip(json));
    }

    [Fact]
    public void Every_command_turn_goes_with_the_assistant_turn_right_after_it_only()
    {
        const string json = """
            {"model":"m","max_tokens":1,"messages":[
            {"role":"user","content":"#roxy help"},{"role":"assistant","content":"help text"},
            {"role":"user","content":"keep 1"},{"role":"assistant","content":"keep 2"},
            {"role":"user","content":[{"type":"text","text":"#roxy models"}]},
            {"role":"user","content":"keep 3"}]}
            """;
        var stripped = Strip(json);

        Assert.DoesNotContain("#roxy", stripped, StringComparison.Ordinal);
        Assert.DoesNotContain("help text", stripped, StringComparison.Ordinal);
        Assert.Contains("""[{"role":"user","content":"keep 1"},{"role":"assistant","content":"keep 2"},{"role":"user","content":"keep 3"}]""", stripped, StringComparison.Ordinal);
        var body = Encoding.UTF8.GetBytes(stripped);
        Assert.Null(MessagesRequestReader.TryRead(body, countTokens: false, out var info));
        Assert.Equal(3, info.MessageCount);
        Assert.Equal(0, info.CommandMessages);
    }

    [Fact]
    public void Tool_result_turns_that_mention_roxy_are_kept()
    {
        const string json = """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"run"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"bash","input":{"command":"cat notes"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"#roxy help"}]}]},{"role":"assistant","content":"The notes say #roxy help."},{"role":"user","content":"thanks"}]}""";
        Assert.Equal(json, Strip(json));
    }

    [Fact]
    public void A_command_hidden_by_a_unicode_escape_is_still_stripped()
    {
        var stripped = Strip("""{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"\u0023roxy add key openai sk-x"},{"role":"assistant","content":"ok"},{"role":"user","content":"hi"}]}""");
        Assert.Equal("""{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}""", stripped);
    }

    [Fact]
    public void A_command_block_followed_by_another_text_block_is_stripped_with_its_secret()
    {
        // A client that appends a block after what the user typed must not carry the typed secret upstream.
        var stripped = Strip($$"""
            {"model":"m","max_tokens":1,"messages":[
            {"role":"user","content":[{"type":"text","text":"#roxy add key openai {{Secret}}"},{"type":"text","text":"<system-reminder>queued</system-reminder>"}]},
            {"role":"assistant","content":"Added key openai …6789."},
            {"role":"user","content":"hi"}]}
            """);

        Assert.DoesNotContain(Secret, stripped, StringComparison.Ordinal);
        Assert.DoesNotContain("Added key", stripped, StringComparison.Ordinal);
        Assert.DoesNotContain("queued", stripped, StringComparison.Ordinal);
        Assert.Contains("""[{"role":"user","content":"hi"}]""", stripped, StringComparison.Ordinal);
    }
}
