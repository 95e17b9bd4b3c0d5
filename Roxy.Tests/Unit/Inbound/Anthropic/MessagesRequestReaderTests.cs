using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Roxy.Api.Errors;
using Roxy.Api.Inbound.Anthropic;

namespace Roxy.Tests.Unit.Inbound.Anthropic;

public class MessagesRequestReaderTests
{
    private const string Hi = """[{"role":"user","content":"hi"}]""";

    private static (ProxyError? Error, MessagesRequestInfo Info) Read(string json, bool countTokens = false)
    {
        var error = MessagesRequestReader.TryRead(Encoding.UTF8.GetBytes(json), countTokens, out var info);
        return (error, info);
    }

    private static MessagesRequestInfo ReadValid(string json, bool countTokens = false)
    {
        var (error, info) = Read(json, countTokens);
        Assert.True(error is null, error?.Message);
        return info;
    }

    private static string? LastUserText(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Null(MessagesRequestReader.TryRead(bytes, countTokens: false, out var info));
        return MessagesRequestReader.LastUserText(bytes, info);
    }

    private static string Body(string messages, string extra = "") =>
        $$"""{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":{{messages}}{{extra}}}""";

    [Fact]
    public void Minimal_body_reads_model_budget_and_defaults_to_non_streaming()
    {
        var info = ReadValid(Body(Hi));

        Assert.Equal("claude-sonnet-4-5", info.Model);
        Assert.Equal(1024, info.MaxTokens);
        Assert.False(info.Stream);
        Assert.Equal(1, info.MessageCount);
        Assert.False(info.LastUserIsCommand);
        Assert.Equal(0, info.CommandMessages);
    }

    [Fact]
    public void Model_value_range_covers_the_quoted_token()
    {
        const string json = """{ "max_tokens": 5, "model" : "claude-3-5-haiku" , "messages":[{"role":"user","content":"hi"}]}""";
        var info = ReadValid(json);

        Assert.Equal("\"claude-3-5-haiku\"", json[info.ModelValue]);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("null", false)]
    public void Stream_is_read(string value, bool expected) =>
        Assert.Equal(expected, ReadValid(Body(Hi, $$""","stream":{{value}}""")).Stream);

    [Fact]
    public void Fields_Roxy_does_not_know_are_skipped_whatever_their_shape()
    {
        var info = ReadValid(Body(Hi, """
            ,"thinking":{"type":"enabled","budget_tokens":2048},"context_management":{"edits":[{"type":"clear_tool_uses_20250919"}]},
            "output_config":{"effort":"high"},"metadata":{"user_id":"u-1"},"top_k":5,"cache_control":{"type":"ephemeral"},
            "system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral","ttl":"1h"}}],
            "tools":[{"name":"t","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}],
            "tool_choice":{"type":"auto"},"stop_sequences":["END"],"temperature":0.2,"x-future":[1,{"a":[]}]
            """));

        Assert.Equal(1, info.MessageCount);
    }

    public static TheoryData<string, string?> BadBodies() => new()
    {
        { """[]""", null },
        { """ "text" """, null },
        { """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]""", null },
        { """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]} {}""", null },
        { """{"max_tokens":1,"messages":[{"role":"user","content":"hi"}]}""", "model" },
        { """{"model":"","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}""", "model" },
        { """{"model":7,"max_tokens":1,"messages":[{"role":"user","content":"hi"}]}""", "model" },
        { """{"model":"claude\r\n","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}""", "model" },
        { """{"model":"m","max_tokens":1}""", "messages" },
        { """{"model":"m","max_tokens":1,"messages":[]}""", "messages" },
        { """{"model":"m","max_tokens":1,"messages":{"role":"user"}}""", "messages" },
        { """{"model":"m","max_tokens":1,"messages":["hi"]}""", "messages.0" },
        { """{"model":"m","max_tokens":1,"messages":[{"content":"hi"}]}""", "messages.0.role" },
        { """{"model":"m","max_tokens":1,"messages":[{"role":7,"content":"hi"}]}""", "messages.0.role" },
        { """{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}""", "messages.0.content" },
        { """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":7}]}""", "messages.0.content" },
        { """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":null}]}""", "messages.0.content" },
        { """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":["hi"]}]}""", "messages.0.content.0" },
        { """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"text":"b"}]}]}""", "messages.0.content.1.type" },
        { """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":1,"text":"b"}]}]}""", "messages.0.content.0.type" },
        { """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text"}]}]}""", "messages.0.content.0.text" },
        { """{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":["a"]}]}]}""", "messages.0.content.0.text" },
        { """{"model":"m","messages":[{"role":"user","content":"hi"}]}""", "max_tokens" },
        { """{"model":"m","max_tokens":null,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens" },
        { """{"model":"m","max_tokens":"100","messages":[{"role":"user","content":"hi"}]}""", "max_tokens" },
        { """{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens" },
        { """{"model":"m","max_tokens":-5,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens" },
        { """{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens" },
        { """{"model":"m","max_tokens":10000001,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens" },
        { """{"model":"m","max_tokens":1e400,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens" },
        { """{"model":"m","max_tokens":99999999999999999999999999,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens" },
        { """{"model":"m","max_tokens":1,"stream":"yes","messages":[{"role":"user","content":"hi"}]}""", "stream" },
        { """{"model":"m","max_tokens":1,"system":5,"messages":[{"role":"user","content":"hi"}]}""", "system" },
        { """{"model":"m","max_tokens":1,"system":["be brief"],"messages":[{"role":"user","content":"hi"}]}""", "system.0" },
        { """{"model":"m","max_tokens":1,"system":[{"text":"be brief"}],"messages":[{"role":"user","content":"hi"}]}""", "system.0.type" },
        { """{"model":"m","max_tokens":1,"tools":{"name":"t"},"messages":[{"role":"user","content":"hi"}]}""", "tools" },
        { """{"model":"m","max_tokens":1,"tools":[{"name":"a","input_schema":{}},"b"],"messages":[{"role":"user","content":"hi"}]}""", "tools.1" },
        { """{"model":"m","max_tokens":1,"tool_choice":"auto","messages":[{"role":"user","content":"hi"}]}""", "tool_choice" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public void Bad_input_is_a_400_naming_the_field_in_Anthropic_words(string json, string? param)
    {
        var (error, _) = Read(json);

        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        if (param is not null)
        {
            // Anthropic's form: "max_tokens: Field required", "messages.0.role: Input should be ...".
            Assert.StartsWith(param + ": ", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("system")]
    [InlineData("critic")]
    public void A_role_other_than_user_or_assistant_is_left_to_the_target(string role)
    {
        // Anthropic's API grows roles behind betas (Claude Code's system turns); an Anthropic target judges them, and
        // a translation refuses what it cannot express.
        var info = ReadValid(Body($$"""[{"role":"user","content":"a"},{"role":"{{role}}","content":"b"},{"role":"user","content":"#roxy help"}]"""));
        Assert.Equal(3, info.MessageCount);
        Assert.True(info.LastUserIsCommand);
    }

    [Fact]
    public void A_command_followed_by_a_system_turn_is_still_the_last_users_command()
    {
        // Claude Code (2.1, per-turn-control beta) sends the user's turn, then a system turn with its environment.
        var json = Body("""[{"role":"user","content":[{"type":"text","text":"<system-reminder>ctx</system-reminder>"},{"type":"text","text":"#roxy add key openai sk-abc"}]},{"role":"system","content":[{"type":"text","text":"# Environment"}]}]""");
        var info = ReadValid(json);
        Assert.True(info.LastUserIsCommand);
        Assert.Equal("#roxy add key openai sk-abc", LastUserText(json));

        // An assistant turn after it is another matter: the command was answered, and the new last turn is not one.
        Assert.False(ReadValid(Body("""[{"role":"user","content":"#roxy help"},{"role":"assistant","content":"…"}]""")).LastUserIsCommand);
    }

    [Fact]
    public void Missing_max_tokens_reads_as_Anthropic_says_it()
    {
        var (error, _) = Read("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal("max_tokens: Field required", error!.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(""","max_tokens":0""")]
    [InlineData(",\"max_tokens\":\"lots\"")]
    [InlineData(""","max_tokens":1024""")]
    public void Count_tokens_allows_max_tokens_and_ignores_it(string maxTokens)
    {
        var info = ReadValid($$"""{"model":"claude-sonnet-4-5"{{maxTokens}},"messages":[{"role":"user","content":"hi"}]}""", countTokens: true);
        Assert.Null(info.MaxTokens);
    }

    [Fact]
    public void Count_tokens_validates_everything_else()
    {
        var (error, _) = Read("""{"model":"m","messages":[{"role":"user"}]}""", countTokens: true);
        Assert.Equal("messages.0.content", error!.Param);
    }

    [Fact]
    public void Largest_accepted_budget_is_read()
    {
        Assert.Equal(10_000_000, ReadValid("""{"model":"m","max_tokens":10000000,"messages":[{"role":"user","content":"hi"}]}""").MaxTokens);
    }

    [Fact]
    public void Invalid_utf8_in_the_model_is_a_400_not_an_exception()
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"m?","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}""");
        body[Array.IndexOf(body, (byte)'?')] = 0xFF;

        var error = MessagesRequestReader.TryRead(body, countTokens: false, out _);

        Assert.Equal(400, error!.Status);
    }

    [Fact]
    public void Invalid_utf8_in_a_command_text_is_a_400()
    {
        // Text that may be a #roxy command is decoded while reading, so bad UTF-8 there is caught up front.
        var body = Encoding.UTF8.GetBytes("""{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"#roxy ?"}]}]}""");
        body[Array.IndexOf(body, (byte)'?')] = 0xFF;

        var error = MessagesRequestReader.TryRead(body, countTokens: false, out _);

        Assert.Equal(ProxyError.BodyNotUtf8, error);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_a_400()
    {
        var deep = new string('[', 200) + new string(']', 200);
        var (error, _) = Read(Body(Hi, $$""","extra":{{deep}}"""));

        Assert.Equal(400, error!.Status);
        Assert.Null(error.Param);
    }

    [Fact]
    public void Comments_are_not_json()
    {
        var (error, _) = Read("""{"model":"m", /* hi */ "max_tokens":1,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(400, error!.Status);
    }

    [Fact]
    public void Arbitrary_bytes_never_throw()
    {
        var property = Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), (byte[] bytes) =>
        {
            var error = MessagesRequestReader.TryRead(bytes ?? [], countTokens: false, out _);
            return error is { Status: 400 };
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3000), property);
    }

    [Fact]
    public void Mutated_valid_bodies_never_throw_and_any_error_is_a_400()
    {
        var valid = Encoding.UTF8.GetBytes(Body(
            """[{"role":"user","content":[{"type":"text","text":"#roxy help"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"n","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"},{"type":"text","text":"#roxy x"}]}]""",
            ""","system":[{"type":"text","text":"s"}],"stream":true"""));
        var mutations = Gen.Zip(Gen.Choose(0, valid.Length - 1), Gen.Choose(0, 255), (at, value) => (At: at, Value: value)).ArrayOf();
        var property = Prop.ForAll(mutations.ToArbitrary(), changes =>
        {
            var body = (byte[])valid.Clone();
            foreach (var (at, value) in changes)
            {
                body[at] = (byte)value;
            }

            var error = MessagesRequestReader.TryRead(body, countTokens: false, out var info);
            if (error is not null)
            {
                return error.Status == 400;
            }

            // Accepted bodies stay walkable for the stripper and the estimator.
            using var stripped = MessagesHistoryStripper.Strip(body);
            new Api.Proxy.TokenEstimator(100).EstimateMessages(body, info, null, out var prompt);
            return prompt >= 1 && stripped.Length <= body.Length;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3000), property);
    }

    // ---- commands ----

    [Fact]
    public void Last_user_string_content_that_is_a_command_is_detected()
    {
        var info = ReadValid(Body("""[{"role":"user","content":"  #roxy help"}]"""));

        Assert.True(info.LastUserIsCommand);
        Assert.Equal(1, info.CommandMessages);
        Assert.Equal("  #roxy help", LastUserText(Body("""[{"role":"user","content":"  #roxy help"}]""")));
    }

    [Fact]
    public void Claude_code_system_reminders_before_the_command_do_not_hide_it()
    {
        // Claude Code's shape: reminder text blocks first, what the user typed last.
        const string messages = """
            [{"role":"user","content":[
              {"type":"text","text":"<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# claudeMd\n...\n</system-reminder>\n"},
              {"type":"text","text":"<system-reminder>The TodoWrite tool hasn't been used recently.</system-reminder>"},
              {"type":"text","text":"#roxy add key openai sk-secret","cache_control":{"type":"ephemeral"}}]}]
            """;
        var info = ReadValid(Body(messages));

        Assert.True(info.LastUserIsCommand);
        Assert.Equal("#roxy add key openai sk-secret", LastUserText(Body(messages)));
    }

    [Fact]
    public void A_command_in_any_text_block_makes_the_turn_a_command_and_is_its_text()
    {
        // A client may append blocks after what the user typed (reminders, attachments, queued-message wrappers): the
        // command must still be seen, or its secret would go upstream. The first command block is the turn's text.
        const string messages = """
            [{"role":"user","content":[{"type":"text","text":"<system-reminder>x</system-reminder>"},{"type":"text","text":"#roxy add key openai sk-1"},
              {"type":"image","source":{"type":"url","url":"https://e.com/a.png"}},{"type":"text","text":"#roxy help"},{"type":"text","text":"what does this print?"}]}]
            """;
        var info = ReadValid(Body(messages));

        Assert.True(info.LastUserIsCommand);
        Assert.Equal(1, info.CommandMessages);
        Assert.Equal("#roxy add key openai sk-1", LastUserText(Body(messages)));
    }

    [Fact]
    public void A_turn_whose_text_blocks_only_mention_roxy_is_no_command_and_its_text_is_the_last_block()
    {
        const string messages = """[{"role":"user","content":[{"type":"text","text":"what is #roxy help?"},{"type":"text","text":"# roxy"},{"type":"text","text":"thanks"}]}]""";
        var info = ReadValid(Body(messages));

        Assert.False(info.LastUserIsCommand);
        Assert.Equal(0, info.CommandMessages);
        Assert.Equal("thanks", LastUserText(Body(messages)));
    }

    [Fact]
    public void The_cheap_command_check_never_misses_a_command()
    {
        // MightBeCommand spares decoding texts that cannot be commands; it must say yes to every one CommandParser
        // takes, whatever whitespace comes before the '#' and however the text is escaped.
        var spaces = new[] { " ", "\t", "\n", "\r", "\u000b", "\u00a0", "\u0085", "\u1680", "\u2003", "\u2028", "\u2029", "\u202f", "\u3000", "\u001f" };
        var commands =
            from prefix in Gen.Elements(spaces).ArrayOf()
            from word in Gen.Elements("#roxy", "#ROXY", "#Roxy", "#rOxY")
            from rest in Gen.Elements("", " help", "\tadd key openai sk-x", "\n\"models\"", "\u00a0é")
            select string.Concat(prefix) + word + rest;
        var anything = Gen.Elements(spaces.Concat(["#", "r", "R", "oxy", "roxy", "a", "\"", "\\", "é", "<"]).ToArray()).ArrayOf().Select(string.Concat);
        var property = Prop.ForAll(Gen.OneOf(commands, anything).ToArbitrary(), text =>
            !Api.Commands.CommandParser.IsCommand(text) || RawForms(text).All(raw => MessagesRequestReader.MightBeCommand(raw)));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(5000), property);

        Assert.True(Api.Commands.CommandParser.IsCommand("\u3000\u2028 #roxy"));
        Assert.All(RawForms("\u3000\u2028 #roxy"), raw => Assert.True(MessagesRequestReader.MightBeCommand(raw)));
        Assert.True(MessagesRequestReader.MightBeCommand(@" \n\u00a0\u0023\u0072oxy"u8));
        Assert.False(MessagesRequestReader.MightBeCommand("<system-reminder>#roxy help"u8));
        Assert.False(MessagesRequestReader.MightBeCommand("# heading"u8));
        Assert.False(MessagesRequestReader.MightBeCommand("what is #roxy?"u8));
    }

    private static readonly System.Text.Json.JsonSerializerOptions[] Escapings =
    [
        new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default },
        new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping },
    ];

    // The string's raw JSON content (no quotes) as serializers write it: every non-ASCII character escaped, some, and
    // none (only what JSON requires), so raw multi-byte spaces are covered too.
    private static IEnumerable<byte[]> RawForms(string text)
    {
        foreach (var options in Escapings)
        {
            var token = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(text, options);
            yield return token[1..^1];
        }

        var minimal = new StringBuilder();
        foreach (var c in text)
        {
            minimal.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        yield return Encoding.UTF8.GetBytes(minimal.ToString());
    }

    [Fact]
    public void A_turn_of_tool_results_only_is_never_a_command_even_if_a_result_says_roxy()
    {
        const string messages = """
            [{"role":"user","content":"run it"},
             {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"bash","input":{"command":"echo '#roxy help'"}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"#roxy help"},
                                       {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"#roxy help"}]}]}]
            """;
        var info = ReadValid(Body(messages));

        Assert.False(info.LastUserIsCommand);
        Assert.Null(info.LastUserTextToken);
        Assert.Equal(0, info.CommandMessages);
    }

    [Fact]
    public void Earlier_commands_are_counted_and_a_final_assistant_turn_is_no_user_text()
    {
        const string messages = """
            [{"role":"user","content":"#roxy help"},{"role":"assistant","content":"Roxy commands: ..."},
             {"role":"user","content":[{"type":"text","text":"#roxy models"}]},{"role":"assistant","content":"..."},
             {"role":"user","content":"hello"},{"role":"assistant","content":"Sure,"}]
            """;
        var info = ReadValid(Body(messages));

        Assert.Equal(2, info.CommandMessages);
        Assert.False(info.LastUserIsCommand);
        Assert.Null(info.LastUserTextToken);
        Assert.Equal(6, info.MessageCount);
    }

    [Theory]
    [InlineData("#roxyhelp", false)]
    [InlineData("# roxy help", false)]
    [InlineData("#ROXY help", true)]
    [InlineData("\\u0023roxy help", true)]
    [InlineData("please #roxy help", false)]
    public void Command_prefix_follows_the_command_parser(string text, bool isCommand) =>
        Assert.Equal(isCommand, ReadValid(Body($$"""[{"role":"user","content":[{"type":"text","text":"{{text}}"}]}]""")).LastUserIsCommand);

    [Fact]
    public void An_assistant_turn_saying_roxy_is_no_command()
    {
        var info = ReadValid(Body("""[{"role":"user","content":"hi"},{"role":"assistant","content":"#roxy help"},{"role":"user","content":"ok"}]"""));
        Assert.Equal(0, info.CommandMessages);
        Assert.Equal("ok", LastUserText(Body("""[{"role":"user","content":"hi"},{"role":"assistant","content":"#roxy help"},{"role":"user","content":"ok"}]""")));
    }
}
