using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Roxy.Api.Providers.OpenAi;
using Roxy.Api.Proxy;

namespace Roxy.Tests.Unit.Proxy;

public class UpstreamBodyBuilderTests
{
    private static string Build(string json, string upstreamModel)
    {
        var body = Encoding.UTF8.GetBytes(json);
        Assert.Null(ChatRequestReader.TryRead(body, out var info));
        using var built = UpstreamBodyBuilder.Build(body, info, upstreamModel);
        return Encoding.UTF8.GetString(built.Span);
    }

    /// <summary>Parses the output and the input, replaces <c>model</c> in the input and compares as JSON.</summary>
    private static JsonNode AssertOnlyModelReplaced(string json, string upstreamModel, Action<JsonObject>? expectedEdit = null)
    {
        var output = Build(json, upstreamModel);
        AssertNoDuplicateMembers(output);
        var actual = JsonNode.Parse(output)!;
        var expected = JsonNode.Parse(json)!.AsObject();
        expected["model"] = upstreamModel;
        expectedEdit?.Invoke(expected);
        Assert.True(JsonNode.DeepEquals(expected, actual), $"expected {expected.ToJsonString()}\nactual   {output}");
        return actual;
    }

    private static void AssertNoDuplicateMembers(string json)
    {
        using var doc = JsonDocument.Parse(json);
        Walk(doc.RootElement);

        static void Walk(JsonElement element)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    Assert.True(names.Add(property.Name), $"duplicate member '{property.Name}'");
                    Walk(property.Value);
                }
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item);
                }
            }
        }
    }

    private static void SetIncludeUsage(JsonObject o)
    {
        if (o["stream_options"] is JsonObject options)
        {
            options["include_usage"] = true;
        }
        else
        {
            o["stream_options"] = new JsonObject { ["include_usage"] = true };
        }
    }

    [Fact]
    public void Non_streaming_body_only_has_model_replaced()
    {
        var output = AssertOnlyModelReplaced("""{"model":"alias","messages":[{"role":"user","content":"hi"}]}""", "gpt-4o-2024-08-06");
        Assert.Null(output["stream_options"]);
    }

    [Fact]
    public void Model_is_replaced_byte_for_byte_in_place()
    {
        var output = Build("""{"messages":[{"role":"user","content":"hi"}], "model" : "alias" ,"n":1}""", "gpt-4o");
        Assert.Equal("""{"messages":[{"role":"user","content":"hi"}], "model" : "gpt-4o" ,"n":1}""", output);
    }

    [Fact]
    public void Unknown_fields_tools_response_format_and_zero_temperature_survive()
    {
        const string json = """
            {
              "model": "alias",
              "temperature": 0,
              "top_p": 1.0,
              "seed": -12,
              "logit_bias": {"50256": -100},
              "tools": [{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
              "tool_choice": {"type":"function","function":{"name":"get_weather"}},
              "response_format": {"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object"}}},
              "x_vendor_extension": [1, "two", null, false, {"nested": []}],
              "messages": [{"role":"user","content":"What is the weather in Paris? \u00e9\ud83d\ude00"}]
            }
            """;
        var output = AssertOnlyModelReplaced(json, "gpt-4o");
        Assert.Equal(0, output["temperature"]!.GetValue<int>());
        Assert.Contains("\"temperature\": 0,", Build(json, "gpt-4o"), StringComparison.Ordinal);
    }

    [Fact]
    public void Multimodal_parts_survive()
    {
        AssertOnlyModelReplaced("""
            {"model":"vision","messages":[{"role":"user","content":[
              {"type":"text","text":"What is in this image?"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==","detail":"high"}},
              {"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}
            ]}]}
            """, "gpt-4o");
    }

    [Theory]
    [InlineData("model \"quoted\"")]
    [InlineData("back\\slash")]
    [InlineData("modèle-日本語-😀")]
    [InlineData("line\nbreak\ttab")]
    [InlineData("<script>&'+")]
    [InlineData("accounts/fireworks/models/llama-v3p1-8b-instruct")]
    public void Model_names_needing_escaping_are_encoded_correctly(string upstreamModel)
    {
        var output = AssertOnlyModelReplaced("""{"model":"alias","messages":[{"role":"user","content":"hi"}]}""", upstreamModel);
        Assert.Equal(upstreamModel, output["model"]!.GetValue<string>());
    }

    [Fact]
    public void Long_model_name_grows_the_buffer()
    {
        var upstreamModel = new string('x', 5000) + "\"é";
        var output = AssertOnlyModelReplaced("""{"model":"a","messages":[{"role":"user","content":"hi"}]}""", upstreamModel);
        Assert.Equal(upstreamModel, output["model"]!.GetValue<string>());
    }

    [Fact]
    public void Streaming_without_stream_options_gets_include_usage_added()
    {
        var output = AssertOnlyModelReplaced("""{"model":"alias","stream":true,"messages":[{"role":"user","content":"hi"}]}""", "gpt-4o", SetIncludeUsage);
        Assert.True(output["stream_options"]!["include_usage"]!.GetValue<bool>());
    }

    [Fact]
    public void Streaming_with_stream_options_before_model_gets_include_usage_added()
    {
        AssertOnlyModelReplaced("""{"stream_options":null,"stream":true,"model":"alias","messages":[{"role":"user","content":"hi"}]}""", "gpt-4o", SetIncludeUsage);
        AssertOnlyModelReplaced("""{"stream_options":{"x":1},"stream":true,"model":"alias","messages":[{"role":"user","content":"hi"}]}""", "gpt-4o", SetIncludeUsage);
    }

    [Fact]
    public void Streaming_with_null_stream_options_gets_include_usage()
    {
        AssertOnlyModelReplaced("""{"model":"alias","stream":true,"stream_options": null,"messages":[{"role":"user","content":"hi"}]}""", "gpt-4o", SetIncludeUsage);
    }

    [Fact]
    public void Streaming_with_empty_stream_options_gets_include_usage()
    {
        AssertOnlyModelReplaced("""{"model":"alias","stream":true,"stream_options":{ },"messages":[{"role":"user","content":"hi"}]}""", "gpt-4o", SetIncludeUsage);
    }

    [Fact]
    public void Streaming_with_other_stream_options_members_keeps_them_and_adds_include_usage()
    {
        var output = AssertOnlyModelReplaced(
            """{"model":"alias","stream":true,"stream_options":{"continuous_usage_stats":false,"extra":{"a":[1,2]}},"messages":[{"role":"user","content":"hi"}]}""",
            "gpt-4o",
            SetIncludeUsage);
        Assert.False(output["stream_options"]!["continuous_usage_stats"]!.GetValue<bool>());
        Assert.NotNull(output["stream_options"]!["extra"]);
    }

    [Fact]
    public void Streaming_with_include_usage_false_is_switched_to_true_without_a_duplicate_member()
    {
        var output = AssertOnlyModelReplaced(
            """{"model":"alias","stream":true,"stream_options":{"other":1,"include_usage":false},"messages":[{"role":"user","content":"hi"}]}""",
            "gpt-4o",
            SetIncludeUsage);
        Assert.True(output["stream_options"]!["include_usage"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("null")]
    [InlineData("\"yes\"")]
    [InlineData("{\"a\":[1]}")]
    public void Streaming_with_non_boolean_include_usage_is_overwritten_with_true(string value)
    {
        AssertOnlyModelReplaced(
            $$"""{"stream_options":{"include_usage":{{value}},"keep":2},"model":"alias","stream":true,"messages":[{"role":"user","content":"hi"}]}""",
            "gpt-4o",
            SetIncludeUsage);
    }

    [Fact]
    public void Streaming_when_client_asked_for_usage_adds_nothing()
    {
        const string json = """{"model":"alias","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""";
        Assert.Equal(json.Replace("\"alias\"", "\"gpt-4o\"", StringComparison.Ordinal), Build(json, "gpt-4o"));
    }

    [Theory]
    [InlineData("""{"model":"alias","stream":false,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"model":"alias","stream":null,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"model":"alias","messages":[{"role":"user","content":"hi"}]}""")]
    public void Non_streaming_bodies_get_no_stream_options(string json)
    {
        var output = AssertOnlyModelReplaced(json, "gpt-4o");
        Assert.Null(output["stream_options"]);
    }

    [Fact]
    public void Non_streaming_body_with_stream_options_keeps_them_as_sent()
    {
        AssertOnlyModelReplaced("""{"model":"alias","stream":false,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"hi"}]}""", "gpt-4o");
    }
}

public class EmbeddingsBodyTests
{
    [Theory]
    [InlineData("""{"model":"my-embed","input":"hi"}""")]
    [InlineData("{ \"input\" : [\"a\",\n\"b\"] ,\"model\" :\"my-embed\", \"dimensions\":8, \"x\":{\"model\":\"my-embed\"} }")]
    [InlineData("""{"model":"my\u002dembed","input":[1,2],"user":"u"}""")]
    public void Only_the_model_token_is_replaced(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        Assert.Null(EmbeddingsRequestReader.TryRead(body, out var info));
        var modelToken = Encoding.UTF8.GetString(body[info.ModelValue]);

        using var built = UpstreamBodyBuilder.ReplaceModel(body, info.ModelValue, "text-embedding-3-small");

        var expected = json[..json.IndexOf(modelToken, StringComparison.Ordinal)] + "\"text-embedding-3-small\"" + json[(json.IndexOf(modelToken, StringComparison.Ordinal) + modelToken.Length)..];
        Assert.Equal(expected, Encoding.UTF8.GetString(built.Span));
    }

    [Fact]
    public void A_model_name_needing_escapes_is_written_as_valid_json()
    {
        var body = """{"model":"m","input":"hi"}"""u8.ToArray();
        Assert.Null(EmbeddingsRequestReader.TryRead(body, out var info));

        using var built = UpstreamBodyBuilder.ReplaceModel(body, info.ModelValue, "org/model\"x");

        using var json = JsonDocument.Parse(built.Memory);
        Assert.Equal("org/model\"x", json.RootElement.GetProperty("model").GetString());
        Assert.Equal("hi", json.RootElement.GetProperty("input").GetString());
    }
}
