using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Roxy.Api.Errors;
using Roxy.Api.Providers.Anthropic;
using Roxy.Api.Proxy;

namespace Roxy.Tests.Unit.Providers.Anthropic;

public class AnthropicRequestTranslatorTests
{
    private const string Model = "claude-sonnet-4-5-20250929";

    private static readonly string GoldenDirectory = Path.Combine(AppContext.BaseDirectory, "TestData", "anthropic", "requests");

    public static TheoryData<string> GoldenCases()
    {
        var cases = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(GoldenDirectory, "*.openai.json").Order(StringComparer.Ordinal))
        {
            cases.Add(Path.GetFileName(file)[..^".openai.json".Length]);
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void Golden_request_translates_to_the_expected_Anthropic_body(string name)
    {
        var input = File.ReadAllText(Path.Combine(GoldenDirectory, name + ".openai.json"));
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenDirectory, name + ".anthropic.json")))!;
        // The target model is the expected body's own, so each case can pick the table row it exercises.
        var actual = Translate(input, expected["model"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(expected, actual), $"{name}:\nexpected {expected.ToJsonString()}\nactual   {actual.ToJsonString()}");
    }

    [Fact]
    public void Golden_cases_exist() => Assert.True(GoldenCases().Count >= 5);

    // ---- system and content ----

    [Fact]
    public void System_and_developer_messages_anywhere_go_to_top_level_system_in_order()
    {
        var body = Translate("""
            {"model":"m","messages":[
              {"role":"user","content":"one"},
              {"role":"system","content":"first"},
              {"role":"assistant","content":"two"},
              {"role":"developer","content":[{"type":"text","text":"second"},{"type":"text","text":"third"}]},
              {"role":"user","content":"three"}]}
            """);
        Assert.Equal(["first", "second", "third"], Texts(body["system"]!));
        Assert.Equal(["user", "assistant", "user"], Roles(body));
        Assert.DoesNotContain("system", Roles(body));
    }

    [Fact]
    public void No_system_message_means_no_system_field()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Null(body["system"]);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"   \"")]
    [InlineData("\"\\n\\t \\r\"")]
    [InlineData("\"\\u0020\\u00a0\"")]
    [InlineData("\"\u3000\"")]
    public void Blank_text_blocks_are_dropped(string blank)
    {
        var body = Translate($$"""
            {"model":"m","messages":[
              {"role":"system","content":{{blank}}},
              {"role":"user","content":[{"type":"text","text":{{blank}}},{"type":"text","text":"kept"}]}]}
            """);
        Assert.Null(body["system"]);
        Assert.Equal(["kept"], Texts(body["messages"]![0]!["content"]!));
    }

    [Fact]
    public void A_message_left_without_content_is_dropped_and_its_neighbours_merge()
    {
        var body = Translate("""
            {"model":"m","messages":[
              {"role":"user","content":"a"},
              {"role":"assistant","content":"  "},
              {"role":"user","content":"b"},
              {"role":"assistant","content":null},
              {"role":"user","content":[]}]}
            """);
        var messages = body["messages"]!.AsArray();
        Assert.Single(messages);
        Assert.Equal(["a", "b"], Texts(messages[0]!["content"]!));
    }

    [Fact]
    public void Consecutive_turns_of_one_role_merge_so_roles_alternate()
    {
        var body = Translate("""
            {"model":"m","messages":[
              {"role":"user","content":"a"},{"role":"user","content":"b"},
              {"role":"assistant","content":"c"},{"role":"assistant","content":"d"},
              {"role":"user","content":"e"}]}
            """);
        Assert.Equal(["user", "assistant", "user"], Roles(body));
        Assert.Equal(["c", "d"], Texts(body["messages"]![1]!["content"]!));
    }

    [Fact]
    public void Text_is_copied_as_sent_escapes_included()
    {
        const string text = "line 1\nline 2 \"quoted\" \\ tab\t é 😀 </script>";
        var body = Translate(JsonSerializer.Serialize(new { model = "m", messages = new[] { new { role = "user", content = text } } }));
        Assert.Equal(text, body["messages"]![0]!["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public void Data_url_image_becomes_a_base64_source_with_its_data_unchanged()
    {
        var data = Convert.ToBase64String(Enumerable.Range(0, 3000).Select(i => (byte)(i * 7)).ToArray());
        Assert.Contains('+', data);
        var body = TranslateRaw($$$"""
            {"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,{{{data}}}"}}]}]}
            """);
        // Written without \u002B escapes: a base64 image does not grow on the way.
        Assert.Contains(data, body, StringComparison.Ordinal);
        var source = JsonNode.Parse(body)!["messages"]![0]!["content"]![0]!;
        Assert.Equal("image", source["type"]!.GetValue<string>());
        Assert.Equal("base64", source["source"]!["type"]!.GetValue<string>());
        Assert.Equal("image/jpeg", source["source"]!["media_type"]!.GetValue<string>());
        Assert.Equal(data, source["source"]!["data"]!.GetValue<string>());
    }

    [Fact]
    public void Data_url_written_with_escaped_slashes_is_decoded()
    {
        var body = Translate("""
            {"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image\/webp;base64,ab\/cd+=="}}]}]}
            """);
        var source = body["messages"]![0]!["content"]![0]!["source"]!;
        Assert.Equal("image/webp", source["media_type"]!.GetValue<string>());
        Assert.Equal("ab/cd+==", source["data"]!.GetValue<string>());
    }

    [Fact]
    public void Https_image_url_becomes_a_url_source()
    {
        var body = Translate("""
            {"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png?x=1&y=2","detail":"low"}}]}]}
            """);
        var block = body["messages"]![0]!["content"]![0]!;
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"type":"image","source":{"type":"url","url":"https://example.com/a.png?x=1&y=2"}}"""), block), block.ToJsonString());
    }

    [Fact]
    public void An_image_in_a_tool_message_is_refused_as_being_in_a_tool_message()
    {
        var error = TranslateError("""
            {"model":"m","messages":[
              {"role":"user","content":"look"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"shot","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}
            """);

        Assert.Contains("in a tool message", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"image_url","image_url":{"url":"http://example.com/a.png"}}""", "messages[0].content[1].image_url.url")]
    [InlineData("""{"type":"image_url","image_url":{"url":"ftp://example.com/a.png"}}""", "messages[0].content[1].image_url.url")]
    [InlineData("""{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AAAA"}}""", "messages[0].content[1].image_url.url")]
    [InlineData("""{"type":"image_url","image_url":{"url":"data:image/png,rawbytes"}}""", "messages[0].content[1].image_url.url")]
    [InlineData("""{"type":"image_url","image_url":{}}""", "messages[0].content[1].image_url.url")]
    [InlineData("""{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}""", "messages[0].content[1]")]
    [InlineData("""{"type":"file","file":{"file_id":"file-abc"}}""", "messages[0].content[1].file")]
    [InlineData("""{"type":"file","file":{"file_data":"data:text/csv;base64,YSxi"}}""", "messages[0].content[1].file.file_data")]
    [InlineData("""{"type":"video_url","video_url":{"url":"https://example.com/v.mp4"}}""", "messages[0].content[1]")]
    [InlineData("""{"text":"no type"}""", "messages[0].content[1]")]
    public void Content_parts_Anthropic_cannot_take_are_a_400_naming_the_part(string part, string param)
    {
        var error = TranslateError($$"""{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"see"},{{part}}]}]}""");
        Assert.Equal(param, error.Param);
    }

    [Fact]
    public void Images_in_system_messages_are_a_400()
    {
        var error = TranslateError("""
            {"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://e.com/a.png"}}]},{"role":"user","content":"hi"}]}
            """);
        Assert.Equal("messages[0].content[0]", error.Param);
        Assert.Contains("system message", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Assistant_refusal_parts_are_kept_as_text()
    {
        var body = Translate("""
            {"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"refusal","refusal":"I can't help with that."}]},{"role":"user","content":"ok"}]}
            """);
        Assert.Equal(["I can't help with that."], Texts(body["messages"]![1]!["content"]!));
    }

    [Fact]
    public void Message_names_are_dropped()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","name":"bob","content":"hi"},{"role":"assistant","name":"bot","content":"yo"},{"role":"user","content":"x"}]}""");
        Assert.DoesNotContain("name", body["messages"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_conversation_opening_with_the_assistant_gets_a_user_turn_first()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"system","content":"s"},{"role":"assistant","content":"Welcome!"},{"role":"user","content":"hi"}]}""");
        Assert.Equal(["user", "assistant", "user"], Roles(body));
        Assert.Equal(["(conversation start)"], Texts(body["messages"]![0]!["content"]!));
    }

    [Fact]
    public void A_final_assistant_prefill_loses_its_trailing_whitespace()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"The answer is \n"}]}""");
        Assert.Equal(["The answer is"], Texts(body["messages"]![1]!["content"]!));
    }

    [Fact]
    public void Only_system_messages_are_a_400()
    {
        var error = TranslateError("""{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":" "}]}""");
        Assert.Equal("messages", error.Param);
    }

    [Theory]
    [InlineData("function")]
    [InlineData("critic")]
    public void Unknown_roles_are_a_400(string role)
    {
        var error = TranslateError($$"""{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"{{role}}","content":"x","name":"f"}]}""");
        Assert.Equal("messages[1].role", error.Param);
    }

    [Fact]
    public void Content_that_is_neither_string_nor_parts_is_a_400()
    {
        var error = TranslateError("""{"model":"m","messages":[{"role":"user","content":42}]}""");
        Assert.Equal("messages[0].content", error.Param);
    }

    [Fact]
    public void Invalid_utf8_is_a_400_not_an_exception()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"model":"m","messages":[{"role":"user","content":"hi X"}]}""");
        var info = new ChatRequestInfo { Model = "m", MessageCount = 1 };
        bytes[Array.IndexOf(bytes, (byte)'X')] = 0xFF;
        var error = AnthropicRequestTranslator.Translate(bytes, info, Model, out var body);
        Assert.Null(body);
        Assert.Equal(400, error!.Status);
        Assert.Contains("UTF-8", error.Message, StringComparison.Ordinal);
    }

    // ---- tools ----

    [Fact]
    public void Tool_results_and_the_user_text_after_them_become_one_user_turn_results_first()
    {
        var body = Translate("""
            {"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[
                {"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},
                {"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"a","content":"A"},
              {"role":"tool","tool_call_id":"b","content":"B"},
              {"role":"user","content":"thanks"}]}
            """);
        Assert.Equal(["user", "assistant", "user"], Roles(body));
        var turn = body["messages"]![2]!["content"]!.AsArray();
        Assert.Equal(["tool_result", "tool_result", "text"], turn.Select(b => b!["type"]!.GetValue<string>()));
        Assert.Equal(["a", "b"], turn.Take(2).Select(b => b!["tool_use_id"]!.GetValue<string>()));
    }

    [Fact]
    public void Tool_results_go_before_user_text_sent_ahead_of_them()
    {
        var body = Translate("""
            {"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},
              {"role":"user","content":"hurry"},
              {"role":"tool","tool_call_id":"a","content":"A"}]}
            """);
        var turn = body["messages"]![2]!["content"]!.AsArray();
        Assert.Equal(["tool_result", "text"], turn.Select(b => b!["type"]!.GetValue<string>()));
    }

    [Fact]
    public void Tool_call_ids_are_sanitized_alike_on_both_sides()
    {
        var body = Translate("""
            {"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[
                {"id":"functions.get_weather:0","type":"function","function":{"name":"f","arguments":"{}"}},
                {"id":"functions_get_weather_0","type":"function","function":{"name":"f","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"functions_get_weather_0","content":"second"},
              {"role":"tool","tool_call_id":"functions.get_weather:0","content":"first"}]}
            """);
        var uses = body["messages"]![1]!["content"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).ToArray();
        var results = body["messages"]![2]!["content"]!.AsArray().Select(b => b!["tool_use_id"]!.GetValue<string>()).ToArray();
        Assert.Equal(ToolCallIds.Sanitize("functions.get_weather:0"), uses[0]);
        Assert.Equal("functions_get_weather_0", uses[1]);
        Assert.NotEqual(uses[0], uses[1]);
        Assert.Equal([uses[1], uses[0]], results);
        Assert.All(uses, id => Assert.Matches("^[a-zA-Z0-9_-]+$", id));
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"  \"")]
    [InlineData("null")]
    public void Empty_tool_arguments_become_an_empty_input(string arguments)
    {
        var body = Translate(ToolCallHistory(arguments));
        Assert.True(JsonNode.DeepEquals(new JsonObject(), body["messages"]![1]!["content"]![0]!["input"]));
    }

    [Fact]
    public void Tool_arguments_are_parsed_into_the_input_object()
    {
        var body = Translate(ToolCallHistory("\"{\\\"q\\\":\\\"x\\\",\\\"n\\\":[1,2,{\\\"deep\\\":true}]}\""));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"q":"x","n":[1,2,{"deep":true}]}"""), body["messages"]![1]!["content"]![0]!["input"]));
    }

    [Theory]
    [InlineData("\"{\\\"q\\\":\"")]
    [InlineData("\"[1,2]\"")]
    [InlineData("\"42\"")]
    [InlineData("\"{} {}\"")]
    [InlineData("{\"q\":1}")]
    public void Tool_arguments_that_are_not_a_JSON_object_are_a_400(string arguments)
    {
        var error = TranslateError(ToolCallHistory(arguments));
        Assert.Equal("messages[1].tool_calls[0].function.arguments", error.Param);
    }

    [Fact]
    public void Tool_use_follows_the_assistant_text()
    {
        var body = Translate(ToolCallHistory("\"{}\"", assistantContent: "\"Let me look.\""));
        var content = body["messages"]![1]!["content"]!.AsArray();
        Assert.Equal(["text", "tool_use"], content.Select(b => b!["type"]!.GetValue<string>()));
        Assert.Equal("lookup", content[1]!["name"]!.GetValue<string>());
    }

    [Fact]
    public void An_orphan_tool_result_becomes_user_text()
    {
        var body = Translate("""
            {"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","content":"Earlier I called a tool."},
              {"role":"tool","tool_call_id":"call.gone","content":"result text"}]}
            """);
        var turn = body["messages"]![2]!["content"]!.AsArray();
        Assert.Single(turn);
        Assert.Equal("text", turn[0]!["type"]!.GetValue<string>());
        Assert.Equal($"Result of tool call {ToolCallIds.Sanitize("call.gone")}:\nresult text", turn[0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public void A_tool_call_without_a_result_is_a_400()
    {
        var error = TranslateError("""
            {"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"f","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"a","content":"A"},
              {"role":"user","content":"next"}]}
            """);
        Assert.Equal("messages[1].tool_calls", error.Param);
        Assert.Contains("'b'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Repeated_tool_call_ids_are_a_400()
    {
        var error = TranslateError("""
            {"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"a","content":"A"}]}
            """);
        Assert.Equal("messages[1].tool_calls", error.Param);
    }

    [Fact]
    public void A_tool_message_without_tool_call_id_is_a_400()
    {
        var error = TranslateError("""{"model":"m","messages":[{"role":"user","content":"go"},{"role":"tool","content":"A"}]}""");
        Assert.Equal("messages[1].tool_call_id", error.Param);
    }

    [Fact]
    public void Tools_carry_their_whole_schema_as_input_schema()
    {
        const string schema = """
            {"type":"object","$defs":{"p":{"type":"string","pattern":"^[a-z]+$"}},"properties":{"a":{"$ref":"#/$defs/p"},"b":{"anyOf":[{"type":"integer"},{"type":"null"}]}},"required":["a"],"additionalProperties":false}
            """;
        var body = Translate($$$"""
            {"model":"m","messages":[{"role":"user","content":"go"}],
             "tools":[{"type":"function","function":{"name":"t","description":"does t","parameters":{{{schema}}},"strict":true}}]}
            """);
        var tool = body["tools"]![0]!;
        Assert.Equal("t", tool["name"]!.GetValue<string>());
        Assert.Equal("does t", tool["description"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(schema), tool["input_schema"]));
        Assert.Null(tool["strict"]);
        Assert.Null(tool["type"]);
    }

    [Fact]
    public void A_tool_without_parameters_gets_an_object_schema_and_one_without_type_gets_the_type()
    {
        var body = Translate("""
            {"model":"m","messages":[{"role":"user","content":"go"}],
             "tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b","parameters":{"properties":{"x":{"type":"string"}}}}}]}
            """);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"type":"object"}"""), body["tools"]![0]!["input_schema"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"type":"object","properties":{"x":{"type":"string"}}}"""), body["tools"]![1]!["input_schema"]));
    }

    [Theory]
    [InlineData("""{"type":"custom","custom":{"name":"x"}}""", "tools[0]")]
    [InlineData("""{"type":"function"}""", "tools[0]")]
    [InlineData("""{"type":"function","function":{"description":"no name"}}""", "tools[0].function.name")]
    [InlineData("""{"type":"function","function":{"name":"x","parameters":[1]}}""", "tools[0].function.parameters")]
    public void Tools_Anthropic_cannot_take_are_a_400(string tool, string param)
    {
        var error = TranslateError($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"tools":[{{tool}}]}""");
        Assert.Equal(param, error.Param);
    }

    [Theory]
    [InlineData("\"auto\"", null, """{"type":"auto"}""")]
    [InlineData("\"required\"", null, """{"type":"any"}""")]
    [InlineData("\"none\"", null, """{"type":"none"}""")]
    [InlineData("""{"type":"function","function":{"name":"t"}}""", null, """{"type":"tool","name":"t"}""")]
    [InlineData(null, null, null)]
    [InlineData(null, "true", null)]
    [InlineData(null, "false", """{"type":"auto","disable_parallel_tool_use":true}""")]
    [InlineData("\"auto\"", "false", """{"type":"auto","disable_parallel_tool_use":true}""")]
    [InlineData("\"required\"", "false", """{"type":"any","disable_parallel_tool_use":true}""")]
    [InlineData("""{"type":"function","function":{"name":"t"}}""", "false", """{"type":"tool","name":"t","disable_parallel_tool_use":true}""")]
    [InlineData("\"none\"", "false", """{"type":"none"}""")]
    public void Tool_choice_and_parallel_tool_calls_map_to_Anthropic_tool_choice(string? choice, string? parallel, string? expected)
    {
        var extra = (choice is null ? "" : $",\"tool_choice\":{choice}") + (parallel is null ? "" : $",\"parallel_tool_calls\":{parallel}");
        var body = Translate($$$"""{"model":"m","messages":[{"role":"user","content":"go"}],"tools":[{"type":"function","function":{"name":"t"}}]{{{extra}}}}""");
        Assert.True(JsonNode.DeepEquals(expected is null ? null : JsonNode.Parse(expected), body["tool_choice"]), body["tool_choice"]?.ToJsonString());
    }

    [Theory]
    [InlineData("\"sometimes\"")]
    [InlineData("""{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}""")]
    [InlineData("""{"type":"function"}""")]
    [InlineData("7")]
    public void Unknown_tool_choices_are_a_400(string choice)
    {
        var error = TranslateError($$$"""{"model":"m","messages":[{"role":"user","content":"go"}],"tools":[{"type":"function","function":{"name":"t"}}],"tool_choice":{{{choice}}}}""");
        Assert.Equal("tool_choice", error.Param);
    }

    [Fact]
    public void Without_tools_there_is_no_tool_choice()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","content":"go"}],"tools":[],"tool_choice":"required","parallel_tool_calls":false}""");
        Assert.Null(body["tools"]);
        Assert.Null(body["tool_choice"]);
    }

    [Theory]
    [InlineData("functions")]
    [InlineData("function_call")]
    public void Legacy_functions_are_a_400_rather_than_silently_dropped(string field)
    {
        var value = field == "functions" ? """[{"name":"f","parameters":{"type":"object"}}]""" : "\"auto\"";
        var error = TranslateError($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"{{field}}":{{value}}}""");
        Assert.Equal(field, error.Param);
    }

    // ---- parameters ----

    [Theory]
    [InlineData("\"END\"", """["END"]""")]
    [InlineData("""["a","  ","b","\n"]""", """["a","b"]""")]
    [InlineData("""[" ","\t"]""", null)]
    [InlineData("\"\"", null)]
    [InlineData("[]", null)]
    [InlineData("null", null)]
    public void Stop_becomes_stop_sequences_without_blank_entries(string stop, string? expected)
    {
        var body = Translate($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"stop":{{stop}}}""");
        Assert.True(JsonNode.DeepEquals(expected is null ? null : JsonNode.Parse(expected), body["stop_sequences"]), body["stop_sequences"]?.ToJsonString());
        Assert.Null(body["stop"]);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("""["a",5]""")]
    public void Stop_of_another_type_is_a_400(string stop)
    {
        var error = TranslateError($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"stop":{{stop}}}""");
        Assert.Equal("stop", error.Param);
    }

    [Theory]
    [InlineData("max_tokens", 1234, Model, 1234)]
    [InlineData("max_completion_tokens", 1234, Model, 1234)]
    [InlineData("max_tokens", 100_000, "claude-3-5-haiku-20241022", 8192)]
    [InlineData("max_tokens", 100_000, "claude-future-9", 100_000)]
    public void Max_tokens_passes_capped_at_the_models_own_maximum(string field, int asked, string model, int sent)
    {
        var body = Translate($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"{{field}}":{{asked}}}""", model);
        Assert.Equal(sent, body["max_tokens"]!.GetValue<int>());
        Assert.Null(body["max_completion_tokens"]);
    }

    [Theory]
    [InlineData("claude-3-haiku-20240307", 4096)]
    [InlineData("claude-3-5-sonnet-latest", 8192)]
    [InlineData("claude-3-7-sonnet-20250219", 64_000)]
    [InlineData("claude-opus-4-1", 32_000)]
    [InlineData("claude-opus-4-6", 128_000)]
    [InlineData("some-unknown-model", AnthropicModelDefaults.UnknownModelMaxTokens)]
    public void Absent_max_tokens_comes_from_the_model_table(string model, int expected)
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","content":"go"}]}""", model);
        Assert.Equal(expected, body["max_tokens"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("claude-3-7-sonnet-20250219", 2048, 2048)]
    [InlineData("claude-3-5-haiku-20241022", 100_000, 8192)]
    [InlineData("some-unknown-model", 50_000, 50_000)]
    public void Absent_max_tokens_comes_from_the_providers_configured_default_when_set(string model, int configured, int expected)
    {
        var error = TryTranslate("""{"model":"m","messages":[{"role":"user","content":"go"}]}""", model, out var body, configured);
        Assert.Null(error);
        Assert.Equal(expected, body!["max_tokens"]!.GetValue<int>());

        // A client's own value still wins.
        error = TryTranslate("""{"model":"m","max_tokens":77,"messages":[{"role":"user","content":"go"}]}""", model, out body, configured);
        Assert.Null(error);
        Assert.Equal(77, body!["max_tokens"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("0", "0")]
    [InlineData("0.7", "0.7")]
    [InlineData("1", "1")]
    [InlineData("1.5", "1")]
    [InlineData("2", "1")]
    public void Temperature_is_clamped_to_one(string temperature, string expected)
    {
        var body = Translate($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"temperature":{{temperature}}}""");
        Assert.Equal(double.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), body["temperature"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("-0.1")]
    [InlineData("2.5")]
    [InlineData("\"hot\"")]
    public void Temperature_outside_OpenAIs_range_is_a_400(string temperature)
    {
        var error = TranslateError($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"temperature":{{temperature}}}""");
        Assert.Equal("temperature", error.Param);
    }

    [Fact]
    public void With_temperature_and_top_p_only_temperature_is_sent()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","content":"go"}],"temperature":0.2,"top_p":0.5}""");
        Assert.Equal(0.2, body["temperature"]!.GetValue<double>());
        Assert.Null(body["top_p"]);
    }

    [Fact]
    public void Top_p_alone_and_top_k_pass()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","content":"go"}],"top_p":0.5,"top_k":20}""");
        Assert.Equal(0.5, body["top_p"]!.GetValue<double>());
        Assert.Equal(20, body["top_k"]!.GetValue<int>());
        Assert.Null(body["temperature"]);
    }

    [Fact]
    public void Sampling_parameters_are_left_out_for_models_that_refuse_them()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","content":"go"}],"temperature":0.2,"top_p":0.5,"top_k":20}""", "claude-opus-4-7");
        Assert.Null(body["temperature"]);
        Assert.Null(body["top_p"]);
        Assert.Null(body["top_k"]);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("8")]
    public void N_above_one_is_a_400(string n)
    {
        var error = TranslateError($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"n":{{n}}}""");
        Assert.Equal("n", error.Param);
        Assert.Contains("'n' must be 1", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1.5")]
    [InlineData("\"2\"")]
    public void N_that_is_not_a_positive_integer_is_a_400(string n)
    {
        // Refused as the request is read, for every target (n sizes the reservation), so never translated.
        var error = ChatRequestReader.TryRead(Encoding.UTF8.GetBytes($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"n":{{n}}}"""), out _);
        Assert.NotNull(error);
        Assert.Equal((400, "n"), (error.Status, error.Param));
    }

    [Fact]
    public void N_of_one_is_accepted_and_not_sent()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","content":"go"}],"n":1}""");
        Assert.Null(body["n"]);
    }

    [Fact]
    public void User_becomes_metadata_user_id()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","content":"go"}],"user":"u-1","metadata":{"k":"v"}}""");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"user_id":"u-1"}"""), body["metadata"]));
        Assert.Null(body["user"]);
    }

    [Fact]
    public void Safety_identifier_stands_in_for_user()
    {
        var body = Translate("""{"model":"m","messages":[{"role":"user","content":"go"}],"safety_identifier":"hash-9"}""");
        Assert.Equal("hash-9", body["metadata"]!["user_id"]!.GetValue<string>());
    }

    [Fact]
    public void A_user_Anthropic_would_refuse_is_a_400()
    {
        var error = TranslateError($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"user":"{{new string('u', 257)}}"}""");
        Assert.Equal("user", error.Param);
    }

    [Fact]
    public void Stream_passes_and_stream_options_are_dropped()
    {
        var streamed = Translate("""{"model":"m","messages":[{"role":"user","content":"go"}],"stream":true,"stream_options":{"include_usage":true}}""");
        Assert.True(streamed["stream"]!.GetValue<bool>());
        Assert.Null(streamed["stream_options"]);
        var whole = Translate("""{"model":"m","messages":[{"role":"user","content":"go"}],"stream":false}""");
        Assert.Null(whole["stream"]);
    }

    [Fact]
    public void Model_is_the_target_models()
    {
        var body = Translate("""{"model":"gpt-4","messages":[{"role":"user","content":"go"}]}""", "claude-3-opus-20240229");
        Assert.Equal("claude-3-opus-20240229", body["model"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("response_format", """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}""")]
    [InlineData("seed", "1")]
    [InlineData("logprobs", "true")]
    [InlineData("top_logprobs", "3")]
    [InlineData("logit_bias", """{"1":5}""")]
    [InlineData("frequency_penalty", "0.1")]
    [InlineData("presence_penalty", "0.1")]
    [InlineData("service_tier", "\"flex\"")]
    [InlineData("store", "true")]
    [InlineData("metadata", """{"a":"b"}""")]
    [InlineData("reasoning_effort", "\"high\"")]
    [InlineData("modalities", """["text","audio"]""")]
    [InlineData("audio", """{"voice":"alloy","format":"wav"}""")]
    [InlineData("prediction", """{"type":"content","content":"x"}""")]
    [InlineData("web_search_options", "{}")]
    [InlineData("verbosity", "\"low\"")]
    [InlineData("prompt_cache_key", "\"k\"")]
    [InlineData("some_future_field", """{"x":1}""")]
    public void OpenAI_only_fields_are_dropped(string field, string value)
    {
        var body = Translate($$"""{"model":"m","messages":[{"role":"user","content":"go"}],"{{field}}":{{value}}}""");
        var expected = JsonNode.Parse($$"""{"model":"{{Model}}","max_tokens":64000,"messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]}""");
        Assert.True(JsonNode.DeepEquals(expected, body), body.ToJsonString());
    }

    private static string ToolCallHistory(string arguments, string assistantContent = "null") => $$$"""
        {"model":"m","messages":[
          {"role":"user","content":"go"},
          {"role":"assistant","content":{{{assistantContent}}},"tool_calls":[{"id":"c1","type":"function","function":{"name":"lookup","arguments":{{{arguments}}}}}]},
          {"role":"tool","tool_call_id":"c1","content":"done"}]}
        """;

    private static string[] Texts(JsonNode blocks) =>
        blocks.AsArray().Select(b => b!["text"]!.GetValue<string>()).ToArray();

    private static string[] Roles(JsonNode body) =>
        body["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>()).ToArray();

    private static string TranslateRaw(string openAiJson, string model = Model)
    {
        var bytes = Encoding.UTF8.GetBytes(openAiJson);
        Assert.Null(ChatRequestReader.TryRead(bytes, out var info));
        var error = AnthropicRequestTranslator.Translate(bytes, info, model, out var body);
        Assert.True(error is null, error?.Message);
        using (body)
        {
            return Encoding.UTF8.GetString(body!.Span);
        }
    }

    internal static JsonNode Translate(string openAiJson, string model = Model)
    {
        var error = TryTranslate(openAiJson, model, out var body);
        Assert.True(error is null, error?.Message);
        return body!;
    }

    internal static ProxyError TranslateError(string openAiJson, string model = Model)
    {
        var error = TryTranslate(openAiJson, model, out var body);
        Assert.Null(body);
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        return error;
    }

    private static ProxyError? TryTranslate(string openAiJson, string model, out JsonNode? translated, int? defaultMaxTokens = null)
    {
        translated = null;
        var bytes = Encoding.UTF8.GetBytes(openAiJson);
        // The request goes through the same reader as on the proxy path, which validates first.
        var readError = ChatRequestReader.TryRead(bytes, out var info);
        Assert.Null(readError);
        var error = AnthropicRequestTranslator.Translate(bytes, info, model, out var body, defaultMaxTokens);
        if (body is not null)
        {
            using (body)
            {
                translated = JsonNode.Parse(body.Span);
            }
        }

        return error;
    }
}
