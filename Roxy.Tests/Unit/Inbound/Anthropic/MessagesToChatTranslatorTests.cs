using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Roxy.Api.Errors;
using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Proxy;

namespace Roxy.Tests.Unit.Inbound.Anthropic;

/// <summary>
/// Anthropic Messages requests translated to OpenAI chat. The golden cases are <c>TestData/anthropic-inbound/
/// {name}.anthropic.json</c> (what a client sends) against <c>{name}.openai.json</c> (what an OpenAI-compatible target
/// gets). Set <c>ROXY_UPDATE_GOLDEN=1</c> to rewrite the expected files from the code (that run fails), then review
/// the diff: they are the contract, not a snapshot to accept blindly.
/// </summary>
public class MessagesToChatTranslatorTests
{
    private static readonly string GoldenDirectory = Path.Combine(AppContext.BaseDirectory, "TestData", "anthropic-inbound");

    public static TheoryData<string> GoldenCases()
    {
        var cases = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(GoldenDirectory, "*.anthropic.json").Order(StringComparer.Ordinal))
        {
            cases.Add(Path.GetFileName(file)[..^".anthropic.json".Length]);
        }

        return cases;
    }

    [Fact]
    public void Golden_cases_exist() => Assert.True(GoldenCases().Count >= 6);

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void Golden_request_translates_to_the_expected_OpenAI_body(string name)
    {
        var actual = Translate(File.ReadAllText(Path.Combine(GoldenDirectory, name + ".anthropic.json")));
        Update(name, actual);
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenDirectory, name + ".openai.json")))!;
        Assert.True(JsonNode.DeepEquals(expected, actual), $"{name}:\nexpected {expected.ToJsonString()}\nactual   {actual.ToJsonString()}");
    }

    // ---- system, text, parameters ----

    [Fact]
    public void System_blocks_become_one_system_message_joined_by_blank_lines()
    {
        var body = Translate("""
            {"model":"m","max_tokens":5,"system":[{"type":"text","text":"one \"1\""},{"type":"text","text":"two\n","cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"user","content":"hi"}]}
            """);
        var system = body["messages"]![0]!;
        Assert.Equal("system", system["role"]!.GetValue<string>());
        Assert.Equal("one \"1\"\n\ntwo\n", system["content"]!.GetValue<string>());
    }

    [Fact]
    public void Text_is_copied_as_sent_escapes_included()
    {
        const string text = "line 1\nline 2 \"quoted\" \\ tab\t é 😀 </script> \u2028";
        var body = Translate(JsonSerializer.Serialize(new { model = "m", max_tokens = 5, messages = new[] { new { role = "user", content = text } } }));
        Assert.Equal(text, body["messages"]![0]!["content"]!.GetValue<string>());
    }

    [Fact]
    public void Base64_image_data_is_written_without_escaping_its_plus_signs()
    {
        var data = Convert.ToBase64String(Enumerable.Range(0, 3000).Select(i => (byte)(i * 7)).ToArray());
        Assert.Contains('+', data);
        var raw = TranslateRaw($$$"""
            {"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/webp","data":"{{{data}}}"}}]}]}
            """);
        Assert.Contains("data:image/webp;base64," + data, raw, StringComparison.Ordinal);
    }

    [Fact]
    public void Stream_asks_for_the_usage_chunk_and_a_non_stream_sends_no_stream_fields()
    {
        var streaming = Translate("""{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.True(streaming["stream"]!.GetValue<bool>());
        Assert.True(streaming["stream_options"]!["include_usage"]!.GetValue<bool>());

        var plain = Translate("""{"model":"m","max_tokens":5,"stream":false,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Null(plain["stream"]);
        Assert.Null(plain["stream_options"]);
    }

    [Fact]
    public void Anthropic_only_fields_are_dropped()
    {
        var body = Translate("""
            {"model":"m","max_tokens":5,"top_k":3,"thinking":{"type":"enabled","budget_tokens":1024},"cache_control":{"type":"ephemeral"},
             "context_management":{"edits":[]},"output_config":{"effort":"low"},"service_tier":"auto","container":"c1","mcp_servers":[],
             "metadata":{"user_id":"u"},"messages":[{"role":"user","content":"hi"}]}
            """);
        var names = body.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["max_tokens", "messages", "model", "user"], names);
    }

    [Theory]
    [InlineData(false, "max_tokens", "max_completion_tokens")]
    [InlineData(true, "max_completion_tokens", "max_tokens")]
    public void The_budget_goes_under_the_name_the_target_reads(bool maxCompletionTokens, string sent, string absent)
    {
        // TranslateRaw also reads the body back with ChatRequestReader and compares the budget it finds there.
        var body = Translate("""{"model":"m","max_tokens":777,"messages":[{"role":"user","content":"hi"}]}""", maxCompletionTokens);
        Assert.Equal(777, body[sent]!.GetValue<int>());
        Assert.False(body.AsObject().ContainsKey(absent));
    }

    [Theory]
    [InlineData("u-42", "u-42")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123", "0123456789012345678901234567890123456789012345678901234567890123")]
    [InlineData("""caf\u00e9 \"quoted\" user""", "café \"quoted\" user")]
    public void A_user_id_of_at_most_64_characters_is_sent_as_it_is(string raw, string id)
    {
        var body = Translate(WithUser(raw));
        Assert.Equal(id, body["user"]!.GetValue<string>());
    }

    [Fact]
    public void A_longer_user_id_is_sent_as_its_SHA256_in_lowercase_hex()
    {
        // Claude Code's shape, 159 characters; OpenAI refuses a user longer than 64.
        const string claudeCode = "user_0d1f2e3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0_account_3f2a9c1e-7b4d-4e8a-9f10-2c5d6e7f8a9b_session_b7e4c2a1-0d3f-4a6b-8c9e-1f2a3b4c5d6e";
        var cases = new[] { (claudeCode, claudeCode), (new string('x', 65), new string('x', 65)), (Escaped(65), new string('é', 65)) };
        foreach (var (raw, id) in cases)
        {
            var user = Translate(WithUser(raw))["user"]!.GetValue<string>();
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id))), user);
            Assert.Matches("^[0-9a-f]{64}$", user);
        }

        // 64 escaped characters are 384 raw bytes: what counts is characters.
        Assert.Equal(new string('é', 64), Translate(WithUser(Escaped(64)))["user"]!.GetValue<string>());

        // Stable: the same user is the same hash on every request (so OpenAI's abuse tracking still sees one user).
        Assert.Equal(Translate(WithUser(claudeCode, "a"))["user"]!.GetValue<string>(), Translate(WithUser(claudeCode, "b"))["user"]!.GetValue<string>());

        static string Escaped(int count) => string.Concat(Enumerable.Repeat("\\u00e9", count));
    }

    private static string WithUser(string raw, string content = "hi") =>
        $$"""{"model":"m","max_tokens":5,"metadata":{"user_id":"{{raw}}"},"messages":[{"role":"user","content":"{{content}}"}]}""";

    [Fact]
    public void Four_stop_sequences_go_as_stop_and_a_fifth_is_a_400_rather_than_a_dropped_one()
    {
        var four = Translate("""{"model":"m","max_tokens":5,"stop_sequences":["a","b","c","d"],"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(["a", "b", "c", "d"], four["stop"]!.AsArray().Select(s => s!.GetValue<string>()));

        var error = TranslateError("""{"model":"m","max_tokens":5,"stop_sequences":["a","b","c","d","e"],"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(400, error.Status);
        Assert.Equal("stop_sequences", error.Param);
        Assert.Equal(
            "stop_sequences: More than 4 stop sequences cannot be sent to an OpenAI-compatible target; route this model to an Anthropic provider or leave it out.",
            error.Message);
    }

    // ---- tools and history ----

    [Fact]
    public void A_tool_result_that_is_an_error_says_so_in_its_content()
    {
        // OpenAI's tool message has no error flag: the model must still learn the call failed.
        var body = Translate("""
            {"model":"m","max_tokens":5,"messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"n","input":{}},{"type":"tool_use","id":"b","name":"n","input":{}},
                                             {"type":"tool_use","id":"c","name":"n","input":{}},{"type":"tool_use","id":"d","name":"n","input":{}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"a","content":"No such file: \"x\"","is_error":true},
                {"type":"tool_result","tool_use_id":"b","content":[{"type":"text","text":"exit 1"},{"type":"text","text":"stderr: boom"}],"is_error":true},
                {"type":"tool_result","tool_use_id":"c","is_error":true},
                {"type":"tool_result","tool_use_id":"d","content":"fine","is_error":false}]}]}
            """);
        var messages = body["messages"]!.AsArray();
        Assert.Equal(["a", "b", "c", "d"], messages.Skip(2).Select(m => m!["tool_call_id"]!.GetValue<string>()));
        Assert.Equal("Error: No such file: \"x\"", messages[2]!["content"]!.GetValue<string>());
        Assert.Equal("Error: exit 1\n\nstderr: boom", messages[3]!["content"]!.GetValue<string>());
        Assert.Equal("Error", messages[4]!["content"]!.GetValue<string>());
        Assert.Equal("fine", messages[5]!["content"]!.GetValue<string>());
    }

    [Fact]
    public void Tool_use_round_trip_history_becomes_tool_calls_and_tool_messages_in_order()
    {
        var body = Translate("""
            {"model":"m","max_tokens":5,"messages":[
              {"role":"user","content":"weather?"},
              {"role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Paris","days":[1, 2]}}]},
              {"role":"user","content":[{"type":"text","text":"(also hurry)"},{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny","is_error":false}]},
              {"role":"assistant","content":"Sunny in Paris."}]}
            """);
        var messages = body["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "tool", "user", "assistant"], messages.Select(m => m!["role"]!.GetValue<string>()));

        var call = messages[1]!["tool_calls"]![0]!;
        Assert.Equal("Checking.", messages[1]!["content"]!.GetValue<string>());
        Assert.Equal("toolu_1", call["id"]!.GetValue<string>());
        Assert.Equal("function", call["type"]!.GetValue<string>());
        Assert.Equal("weather", call["function"]!["name"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris","days":[1,2]}""", call["function"]!["arguments"]!.GetValue<string>());

        Assert.Equal("toolu_1", messages[2]!["tool_call_id"]!.GetValue<string>());
        Assert.Equal("sunny", messages[2]!["content"]!.GetValue<string>());
        // The user's own words come after the results, so the tool messages follow the assistant's calls directly.
        Assert.Equal("(also hurry)", messages[3]!["content"]!.GetValue<string>());
    }

    [Fact]
    public void An_assistant_turn_of_tool_calls_only_has_null_content_and_thinking_is_dropped()
    {
        var body = Translate("""
            {"model":"m","max_tokens":5,"messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","content":[{"type":"redacted_thinking","data":"xyz"},{"type":"tool_use","id":"t","name":"n","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t"}]}]}
            """);
        var assistant = body["messages"]![1]!;
        Assert.Equal(JsonValueKind.Null, assistant["content"]?.GetValueKind() ?? JsonValueKind.Null);
        Assert.True(assistant.AsObject().ContainsKey("content"));
        Assert.Equal("{}", assistant["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>());
        // An empty result still answers its call.
        Assert.Equal("", body["messages"]![2]!["content"]!.GetValue<string>());
        Assert.Equal(3, body["messages"]!.AsArray().Count);
    }

    [Fact]
    public void Images_inside_a_tool_result_go_into_the_following_user_message()
    {
        var body = Translate("""
            {"model":"m","max_tokens":5,"messages":[
              {"role":"user","content":"shoot"},
              {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"shot","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"done"},{"type":"image","source":{"type":"url","url":"https://e.com/s.png"}}]}]}]}
            """);
        var messages = body["messages"]!.AsArray();
        Assert.Equal("done", messages[2]!["content"]!.GetValue<string>());
        Assert.Equal("user", messages[3]!["role"]!.GetValue<string>());
        Assert.Equal("https://e.com/s.png", messages[3]!["content"]![0]!["image_url"]!["url"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"type":"auto"}""", "\"auto\"", null)]
    [InlineData("""{"type":"any"}""", "\"required\"", null)]
    [InlineData("""{"type":"none"}""", "\"none\"", null)]
    [InlineData("""{"type":"tool","name":"a"}""", """{"type":"function","function":{"name":"a"}}""", null)]
    [InlineData("""{"type":"auto","disable_parallel_tool_use":true}""", "\"auto\"", false)]
    [InlineData("""{"type":"none","disable_parallel_tool_use":true}""", "\"none\"", null)]
    [InlineData("""{"type":"any","disable_parallel_tool_use":false}""", "\"required\"", null)]
    public void Tool_choice_maps_to_OpenAI(string choice, string expected, bool? parallel)
    {
        var body = Translate($$$"""{"model":"m","max_tokens":5,"tools":[{"name":"a","input_schema":{"type":"object"}}],"tool_choice":{{{choice}}},"messages":[{"role":"user","content":"hi"}]}""");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), body["tool_choice"]), body["tool_choice"]?.ToJsonString());
        Assert.Equal(parallel, body["parallel_tool_calls"]?.GetValue<bool>());
    }

    [Fact]
    public void Without_tools_there_is_no_tool_choice()
    {
        var body = Translate("""{"model":"m","max_tokens":5,"tools":[],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Null(body["tools"]);
        Assert.Null(body["tool_choice"]);
    }

    // ---- what cannot go to an OpenAI-compatible target ----

    public static TheoryData<string, string> Untranslatable() => new()
    {
        { """ "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}],"messages":[{"role":"user","content":"hi"}]""", "tools.0" },
        { """ "tools":[{"name":"ok","input_schema":{"type":"object"}},{"type":"bash_20250124","name":"bash"}],"messages":[{"role":"user","content":"hi"}]""", "tools.1" },
        { """ "tools":[{"name":"a"}],"messages":[{"role":"user","content":"hi"}]""", "tools.0.input_schema" },
        { """ "tools":[{"input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]""", "tools.0.name" },
        { """ "tools":[{"name":"a","input_schema":"object"}],"messages":[{"role":"user","content":"hi"}]""", "tools.0.input_schema" },
        { """ "tools":[{"name":"a","input_schema":{}}],"tool_choice":{"type":"sometimes"},"messages":[{"role":"user","content":"hi"}]""", "tool_choice.type" },
        { """ "tools":[{"name":"a","input_schema":{}}],"tool_choice":{"type":"tool"},"messages":[{"role":"user","content":"hi"}]""", "tool_choice.name" },
        { """ "messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]""", "messages.0.content.0" },
        { """ "messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://e.com/a.pdf"}}]}]""", "messages.0.content.0" },
        { """ "messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_1"}}]}]""", "messages.0.content.0.source" },
        { """ "messages":[{"role":"user","content":"a"},{"role":"critic","content":"b"}]""", "messages.1.role" },
        { """ "messages":[{"role":"user","content":"a"},{"role":"system","content":[{"type":"image","source":{"type":"url","url":"https://e.com/a.png"}}]}]""", "messages.1.content.0.type" },
        { """ "messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"AAAA"}}]}]""", "messages.0.content.0.source.media_type" },
        { """ "messages":[{"role":"user","content":[{"type":"image"}]}]""", "messages.0.content.0.source" },
        { """ "messages":[{"role":"user","content":[{"type":"search_result","source":"s","title":"t","content":[]}]}]""", "messages.0.content.0" },
        { """ "messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]""", "messages.1.content.0" },
        { """ "messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","name":"n","input":{}}]}]""", "messages.1.content.0.id" },
        { """ "messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"i","name":"n","input":[1]}]}]""", "messages.1.content.0.input" },
        { """ "messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]""", "messages.0.content.0.tool_use_id" },
        { """ "messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"document","source":{"type":"base64","data":"x"}}]}]}]""", "messages.0.content.0.content.0" },
        { """ "messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"}]}]""", "messages" },
        { """ "system":[{"type":"image","source":{}}],"messages":[{"role":"user","content":"hi"}]""", "system.0.type" },
        { """ "temperature":"warm","messages":[{"role":"user","content":"hi"}]""", "temperature" },
        { """ "stop_sequences":"END","messages":[{"role":"user","content":"hi"}]""", "stop_sequences" },
        { """ "stop_sequences":["a",1],"messages":[{"role":"user","content":"hi"}]""", "stop_sequences.1" },
        { """ "metadata":"u","messages":[{"role":"user","content":"hi"}]""", "metadata" },
        { """ "stop_sequences":["1","2","3","4","5","6"],"messages":[{"role":"user","content":"hi"}]""", "stop_sequences" },
        { """ "messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"x","is_error":"yes"}]}]""", "messages.0.content.0.is_error" },
    };

    [Theory]
    [MemberData(nameof(Untranslatable))]
    public void What_has_no_OpenAI_form_is_a_400_naming_the_field(string members, string param)
    {
        var json = $$"""{"model":"gpt-4o","max_tokens":5,{{members}}}""";
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Null(MessagesRequestReader.TryRead(bytes, countTokens: false, out var info));

        var error = MessagesToChatTranslator.Translate(bytes, info, maxCompletionTokens: false, out var chatBody);

        Assert.Null(chatBody);
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        Assert.StartsWith(param + ": ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_tool_is_refused_saying_why()
    {
        var error = TranslateError("""{"model":"gpt-4o","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Contains("web_search_20250305", error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be sent to an OpenAI-compatible target", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_system_turn_inside_the_conversation_is_a_system_message_where_it_stands()
    {
        // Claude Code sends these with a beta: the environment and reminders between turns.
        var chat = Translate("""
            {"model":"m","max_tokens":5,"system":"Be brief.","messages":[{"role":"user","content":"a"},
             {"role":"system","content":[{"type":"text","text":"# Environment"},{"type":"text","text":"cwd: /tmp"}]},{"role":"user","content":"b"}]}
            """);
        var messages = chat["messages"]!.AsArray();
        Assert.Equal(["system", "user", "system", "user"], messages.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal("# Environment\n\ncwd: /tmp", messages[2]!["content"]!.GetValue<string>());
    }

    [Fact]
    public void A_lone_surrogate_in_a_tool_input_is_a_400_not_an_exception()
    {
        var error = TranslateError("""
            {"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{"q":"\ud800"}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"r"}]}]}
            """);
        Assert.Equal(400, error.Status);
    }

    [Fact]
    public void Invalid_utf8_anywhere_is_a_400()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://e.com/?"}}]}]}""");
        Assert.Null(MessagesRequestReader.TryRead(bytes, countTokens: false, out var info));
        bytes[Array.LastIndexOf(bytes, (byte)'?')] = 0xC0;

        Assert.Equal(ProxyError.BodyNotUtf8, MessagesToChatTranslator.Translate(bytes, info, maxCompletionTokens: false, out var chatBody));
        Assert.Null(chatBody);
    }

    // ---- helpers ----

    private static string TranslateRaw(string json, bool maxCompletionTokens = false)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var invalid = MessagesRequestReader.TryRead(bytes, countTokens: false, out var info);
        Assert.True(invalid is null, invalid?.Message);
        var error = MessagesToChatTranslator.Translate(bytes, info, maxCompletionTokens, out var chatBody);
        Assert.True(error is null, error?.Message);
        using (chatBody)
        {
            // The pipeline reads the translation back as any OpenAI request: it must pass the chat reader.
            var unread = ChatRequestReader.TryRead(chatBody!.Span, out var chatInfo);
            Assert.True(unread is null, unread?.Message);
            Assert.Equal(info.Model, chatInfo.Model);
            Assert.Equal(info.Stream, chatInfo.Stream);
            Assert.Equal(info.MaxTokens, chatInfo.MaxTokens);
            return Encoding.UTF8.GetString(chatBody.Span);
        }
    }

    private static JsonNode Translate(string json, bool maxCompletionTokens = false) => JsonNode.Parse(TranslateRaw(json, maxCompletionTokens))!;

    private static ProxyError TranslateError(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Null(MessagesRequestReader.TryRead(bytes, countTokens: false, out var info));
        var error = MessagesToChatTranslator.Translate(bytes, info, maxCompletionTokens: false, out var chatBody);
        Assert.Null(chatBody);
        return error!;
    }

    // Rewriting never passes a test: the run that rewrote the file fails, and the review decides.
    private static void Update(string name, JsonNode actual, [CallerFilePath] string here = "")
    {
        if (Environment.GetEnvironmentVariable("ROXY_UPDATE_GOLDEN") != "1")
        {
            return;
        }

        var path = Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "TestData", "anthropic-inbound", name + ".openai.json");
        File.WriteAllText(path, actual.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        Assert.Fail($"Rewrote {Path.GetFileName(path)}; review the diff, then run again without ROXY_UPDATE_GOLDEN.");
    }
}
