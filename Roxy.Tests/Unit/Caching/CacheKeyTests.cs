using System.Text;
using System.Text.Json.Nodes;
using Roxy.Api.Caching;
using Roxy.Api.Protocols;

namespace Roxy.Tests.Unit.Caching;

public class CacheKeyTests
{
    private const string Chat = """
        {"model":"smart","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Name a prime."}],
         "temperature":0.7,"max_tokens":64,
         "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}],
         "tool_choice":"auto",
         "response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"n":{"type":"integer"}}}}}}
        """;

    private static CacheKey Key(string body, WireProtocol protocol = WireProtocol.OpenAiChat, string tenant = "acme",
        long generation = 0, string model = "smart", string fingerprint = "fp1") =>
        CacheKeys.Compute(Encoding.UTF8.GetBytes(body), protocol, tenant, generation, model, fingerprint);

    private static string With(string body, Action<JsonObject> change)
    {
        var node = JsonNode.Parse(body)!.AsObject();
        change(node);
        return node.ToJsonString();
    }

    [Fact]
    public void The_key_is_64_lowercase_hex_digits_and_repeatable()
    {
        var key = Key(Chat);
        Assert.Matches("^[0-9a-f]{64}$", key.Hash);
        Assert.Equal(key, Key(Chat));
        Assert.Null(key.Uncacheable);
        Assert.False(key.Deterministic);
    }

    [Fact]
    public void Anthropic_version_and_beta_headers_are_part_of_the_key()
    {
        const string messages = """{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""";
        static string Of(string? headers) =>
            CacheKeys.Compute(Encoding.UTF8.GetBytes(messages), WireProtocol.AnthropicMessages, "acme", 0, "claude", "fp1", headers).Hash;

        Assert.Equal(Of("2023-06-01\n"), Of("2023-06-01\n"));
        Assert.NotEqual(Of("2023-06-01\n"), Of("2023-06-01\ncontext-management-2025-06-27"));
        Assert.NotEqual(Of("2023-06-01\n"), Of(null));
    }

    [Fact]
    public void The_ignore_list_does_not_change_the_key_even_spelled_with_escapes()
    {
        var dressed = With(Chat, o =>
        {
            o["stream"] = true;
            o["stream_options"] = new JsonObject { ["include_usage"] = true };
            o["user"] = "end-user-42";
            o["metadata"] = new JsonObject { ["user_id"] = "u" };
            o["store"] = false;
        });
        Assert.Equal(Key(Chat).Hash, Key(dressed).Hash);
        Assert.Equal(Key(Chat).Hash, Key(Chat.TrimEnd()[..^1] + ",\"str\\u0065am\":true}").Hash);
    }

    [Theory]
    [InlineData("""{"role":"user","content":"Name a prime.","stream":true}""")]
    [InlineData("""{"role":"user","content":"Name a prime.","user":"x"}""")]
    public void Ignored_names_below_the_top_level_count(string lastMessage)
    {
        var nested = With(Chat, o => o["messages"]![1] = JsonNode.Parse(lastMessage));
        Assert.NotEqual(Key(Chat).Hash, Key(nested).Hash);
    }

    [Fact]
    public void Model_tools_tool_choice_response_format_and_unknown_fields_count()
    {
        var variants = new[]
        {
            With(Chat, o => o["model"] = "smarter"),
            With(Chat, o => o["tools"]![0]!["function"]!["parameters"]!["properties"]!["q"]!["type"] = "number"),
            With(Chat, o => o["tools"]!.AsArray().Add(JsonNode.Parse("""{"type":"function","function":{"name":"other"}}"""))),
            With(Chat, o => o["tool_choice"] = "required"),
            With(Chat, o => o["response_format"]!["json_schema"]!["schema"]!["properties"]!["n"]!["type"] = "number"),
            With(Chat, o => o["x_vendor_knob"] = 1),
            With(Chat, o => o["messages"] = new JsonArray([.. o["messages"]!.AsArray().Reverse().Select(m => m!.DeepClone())])),
            With(Chat, o => o["max_tokens"] = 65),
            With(Chat, o => o["temperature"] = null),
            With(Chat, o => o["parallel_tool_calls"] = false),
        };
        var keys = variants.Select(v => Key(v).Hash).Append(Key(Chat).Hash).ToHashSet();
        Assert.Equal(variants.Length + 1, keys.Count);
    }

    [Fact]
    public void Null_false_and_absent_are_three_different_things()
    {
        var absent = Key("""{"model":"m"}""").Hash;
        var nulled = Key("""{"model":"m","logit_bias":null}""").Hash;
        var falsy = Key("""{"model":"m","logit_bias":false}""").Hash;
        Assert.Equal(3, new[] { absent, nulled, falsy }.Distinct().Count());
    }

    [Fact]
    public void Every_part_of_the_scope_changes_the_key()
    {
        var keys = new[]
        {
            Key(Chat), Key(Chat, protocol: WireProtocol.AnthropicMessages), Key(Chat, tenant: "globex"), Key(Chat, generation: 1),
            Key(Chat, model: "smart-2"), Key(Chat, fingerprint: "fp2"),
        }.Select(k => k.Hash).ToHashSet();
        Assert.Equal(6, keys.Count);
        // Length prefixes keep neighbouring fields apart.
        Assert.NotEqual(Key(Chat, tenant: "ab", model: "c").Hash, Key(Chat, tenant: "a", model: "bc").Hash);
    }

    [Theory]
    [InlineData("1", "1.0")]
    [InlineData("1", "1e0")]
    [InlineData("1", "10E-1")]
    [InlineData("1", "0.001e+3")]
    [InlineData("0", "-0.0")]
    [InlineData("1e400", "10e399")]
    [InlineData("123456789012345678901234567890", "1.2345678901234567890123456789e29")]
    public void Numbers_compare_by_value(string a, string b) =>
        Assert.Equal(Key($$"""{"seed":{{a}}}""").Hash, Key($$"""{"seed":{{b}}}""").Hash);

    [Theory]
    [InlineData("9007199254740993", "9007199254740992")]
    [InlineData("1e400", "1e401")]
    [InlineData("1e-400", "0")]
    [InlineData("-1", "1")]
    [InlineData("0.1", "1")]
    [InlineData("1e99999999999999999999", "1e99999999999999999998")]
    [InlineData("12345678901234567890123456789012345678901", "12345678901234567890123456789012345678902")]
    public void Numbers_keep_every_digit(string a, string b) =>
        Assert.NotEqual(Key($$"""{"seed":{{a}}}""").Hash, Key($$"""{"seed":{{b}}}""").Hash);

    [Fact]
    public void A_long_content_counts_to_its_last_character_and_its_escapes_do_not_matter()
    {
        var text = new string('x', 100_000);
        var plain = Key($$"""{"messages":[{"role":"user","content":"{{text}}é"}]}""").Hash;
        Assert.Equal(plain, Key($$"""{"messages":[{"role":"user","content":"{{text}}\u00E9"}]}""").Hash);
        Assert.NotEqual(plain, Key($$"""{"messages":[{"role":"user","content":"{{text}}e"}]}""").Hash);
    }

    [Fact]
    public void Escaped_lone_surrogates_in_names_and_values_are_keyed_by_their_spelling()
    {
        var high = Key("""{"messages":[{"role":"user","content":"\ud800"}]}""");
        Assert.Matches("^[0-9a-f]{64}$", high.Hash);
        Assert.NotEqual(high.Hash, Key("""{"messages":[{"role":"user","content":"\udc00"}]}""").Hash);
        Assert.NotEqual(high.Hash, Key("""{"messages":[{"role":"user","content":"\\ud800"}]}""").Hash);
        var name = Key("""{"x_\ud800":1}""");
        Assert.NotEqual(name.Hash, Key("""{"x_\udc00":1}""").Hash);
        Assert.NotEqual(name.Hash, Key("""{"x_\\ud800":1}""").Hash);
    }

    [Theory]
    [InlineData("""{"temperature":0}""", true)]
    [InlineData("""{"temperature":0.0}""", true)]
    [InlineData("""{"temperature":-0e3}""", true)]
    [InlineData("""{"temperature":0.7}""", false)]
    [InlineData("""{"temperature":"0"}""", false)]
    [InlineData("""{"seed":42}""", true)]
    [InlineData("""{"seed":null}""", false)]
    [InlineData("""{"temperature":1,"seed":7}""", true)]
    [InlineData("""{"model":"m"}""", false)]
    public void Deterministic_means_temperature_zero_or_a_seed(string body, bool deterministic)
    {
        Assert.Equal(deterministic, Key(body).Deterministic);
        Assert.Equal(deterministic, Key(body, WireProtocol.AnthropicMessages).Deterministic);
    }

    [Theory]
    [InlineData("""{"n":2}""", "n > 1")]
    [InlineData("""{"n":1.5}""", "n > 1")]
    [InlineData("""{"n":1e1}""", "n > 1")]
    [InlineData("""{"n":1}""", null)]
    [InlineData("""{"n":10E-1}""", null)]
    [InlineData("""{"n":0.5}""", null)]
    [InlineData("""{"logprobs":true}""", "logprobs")]
    [InlineData("""{"logprobs":false}""", null)]
    [InlineData("""{"top_logprobs":3}""", "top_logprobs")]
    [InlineData("""{"top_logprobs":null}""", null)]
    [InlineData("""{"audio":{"voice":"alloy","format":"wav"}}""", "audio output")]
    [InlineData("""{"audio":null}""", null)]
    [InlineData("""{"modalities":["text","audio"]}""", "audio output")]
    [InlineData("""{"modalities":["text"]}""", null)]
    [InlineData("""{"web_search_options":{}}""", "web_search_options")]
    [InlineData("""{"thinking":{"type":"enabled","budget_tokens":1024}}""", null)]
    public void OpenAi_requests_whose_answer_the_entry_cannot_hold_are_uncacheable(string body, string? reason) =>
        Assert.Equal(reason, Key(body).Uncacheable);

    [Theory]
    [InlineData("""{"thinking":{"type":"enabled","budget_tokens":1024}}""", "thinking")]
    [InlineData("""{"thinking":{"type":"adaptive"}}""", "thinking")]
    [InlineData("""{"thinking":{"type":"disabled"}}""", null)]
    [InlineData("""{"mcp_servers":[{"type":"url","url":"https://mcp.example","name":"x"}]}""", "mcp_servers")]
    [InlineData("""{"tools":[{"name":"lookup","input_schema":{"type":"object"}}]}""", null)]
    [InlineData("""{"tools":[{"type":"custom","name":"lookup","input_schema":{"type":"object"}}]}""", null)]
    [InlineData("""{"tools":[{"type":"bash_20250124","name":"bash"},{"type":"text_editor_20250429","name":"str_replace_based_edit_tool"},{"type":"computer_20250124","name":"computer","display_width_px":1024,"display_height_px":768}]}""", null)]
    [InlineData("""{"tools":[{"name":"lookup","input_schema":{}},{"type":"web_search_20250305","name":"web_search"}]}""", "server tool")]
    [InlineData("""{"tools":[{"type":"web_fetch_20250910","name":"web_fetch"}]}""", "server tool")]
    [InlineData("""{"tools":[{"type":"code_execution_20250825","name":"code_execution"}]}""", "server tool")]
    [InlineData("""{"n":2,"logprobs":true}""", null)]
    public void Anthropic_requests_whose_answer_the_entry_cannot_hold_are_uncacheable(string body, string? reason) =>
        Assert.Equal(reason, Key(body, WireProtocol.AnthropicMessages).Uncacheable);

    [Fact]
    public void An_uncacheable_request_still_gets_its_own_key()
    {
        var two = Key("""{"n":2}""");
        Assert.NotNull(two.Uncacheable);
        Assert.NotEqual(two.Hash, Key("""{"n":3}""").Hash);
    }

    [Fact]
    public void A_body_that_is_not_json_is_not_cacheable_rather_than_an_exception()
    {
        var key = Key("{\"model\":");
        Assert.Equal("body is not JSON", key.Uncacheable);
        Assert.Matches("^[0-9a-f]{64}$", key.Hash);
    }
}
