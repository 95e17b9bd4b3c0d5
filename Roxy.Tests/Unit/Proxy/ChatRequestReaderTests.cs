using System.Text;
using Roxy.Api.Errors;
using Roxy.Api.Proxy;

namespace Roxy.Tests.Unit.Proxy;

public class ChatRequestReaderTests
{
    private static (ProxyError? Error, ChatRequestInfo Info) Read(string json)
    {
        var error = ChatRequestReader.TryRead(Encoding.UTF8.GetBytes(json), out var info);
        return (error, info);
    }

    private static ChatRequestInfo ReadValid(string json)
    {
        var (error, info) = Read(json);
        Assert.Null(error);
        return info;
    }

    private static string? LastUserText(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Null(ChatRequestReader.TryRead(bytes, out var info));
        return ChatRequestReader.LastUserText(bytes, info);
    }

    private static void AssertInvalid(string json, string? param)
    {
        var (error, _) = Read(json);
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void Minimal_body_reads_model_and_defaults_to_non_streaming()
    {
        var info = ReadValid("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal("gpt-4o-mini", info.Model);
        Assert.False(info.Stream);
        Assert.False(info.ClientWantsUsage);
        Assert.Null(info.MaxTokens);
        Assert.Equal(1, info.MessageCount);
    }

    [Fact]
    public void Model_value_range_covers_the_quoted_token()
    {
        const string json = """{ "model" : "gpt-4o" , "messages":[{"role":"user","content":"hi"}]}""";
        var info = ReadValid(json);

        Assert.Equal("\"gpt-4o\"", json[info.ModelValue]);
        Assert.Equal(1, info.ObjectStart);
    }

    [Fact]
    public void Escaped_model_name_is_unescaped()
    {
        var info = ReadValid("""{"model":"gpt\u002D4o","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal("gpt-4o", info.Model);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("null", false)]
    public void Stream_flag_is_read(string value, bool expected)
    {
        var info = ReadValid($$"""{"model":"m","stream":{{value}},"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(expected, info.Stream);
    }

    [Fact]
    public void Non_boolean_stream_is_rejected_on_stream()
    {
        AssertInvalid("""{"model":"m","stream":"yes","messages":[{"role":"user","content":"hi"}]}""", "stream");
    }

    [Fact]
    public void Stream_options_include_usage_true_means_client_wants_usage()
    {
        var info = ReadValid("""{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""");

        Assert.True(info.Stream);
        Assert.True(info.ClientWantsUsage);
        Assert.True(info.StreamOptionsHasMembers);
        Assert.NotNull(info.StreamOptionsObjectStart);
    }

    [Fact]
    public void Stream_options_include_usage_false_does_not_mean_client_wants_usage()
    {
        var info = ReadValid("""{"model":"m","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"hi"}]}""");
        Assert.False(info.ClientWantsUsage);
        Assert.True(info.StreamOptionsHasMembers);
    }

    [Fact]
    public void Empty_stream_options_object_has_no_members()
    {
        var info = ReadValid("""{"model":"m","stream":true,"stream_options":{},"messages":[{"role":"user","content":"hi"}]}""");
        Assert.False(info.ClientWantsUsage);
        Assert.False(info.StreamOptionsHasMembers);
        Assert.NotNull(info.StreamOptionsObjectStart);
    }

    [Fact]
    public void Null_stream_options_records_the_member_but_no_object()
    {
        const string json = """{"model":"m","stream":true,"stream_options":null,"messages":[{"role":"user","content":"hi"}]}""";
        var info = ReadValid(json);

        Assert.Null(info.StreamOptionsObjectStart);
        Assert.Equal("\"stream_options\":null", json[info.StreamOptionsMember!.Value]);
    }

    [Fact]
    public void Non_object_stream_options_is_rejected_on_stream_options()
    {
        AssertInvalid("""{"model":"m","stream":true,"stream_options":true,"messages":[{"role":"user","content":"hi"}]}""", "stream_options");
    }

    [Fact]
    public void Max_tokens_is_read()
    {
        var info = ReadValid("""{"model":"m","max_tokens":256,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(256, info.MaxTokens);
    }

    [Fact]
    public void Max_completion_tokens_is_read()
    {
        var info = ReadValid("""{"model":"m","max_completion_tokens":512,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(512, info.MaxTokens);
    }

    [Fact]
    public void Null_max_tokens_is_absent()
    {
        var info = ReadValid("""{"model":"m","max_tokens":null,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Null(info.MaxTokens);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("\"100\"")]
    public void Non_positive_integer_max_tokens_is_rejected(string value)
    {
        AssertInvalid($$"""{"model":"m","max_tokens":{{value}},"messages":[{"role":"user","content":"hi"}]}""", "max_tokens");
    }

    [Fact]
    public void Message_count_counts_every_message()
    {
        var info = ReadValid("""
            {"model":"m","messages":[
              {"role":"system","content":"be brief"},
              {"role":"user","content":"one"},
              {"role":"assistant","content":"two"},
              {"role":"user","content":"three"}
            ]}
            """);
        Assert.Equal(4, info.MessageCount);
    }

    [Fact]
    public void Last_user_text_comes_from_string_content_of_the_last_user_message()
    {
        var text = LastUserText("""
            {"model":"m","messages":[
              {"role":"user","content":"first"},
              {"role":"assistant","content":"reply"},
              {"role":"user","content":"second"},
              {"role":"assistant","content":"after"}
            ]}
            """);
        Assert.Equal("second", text);
    }

    [Fact]
    public void Last_user_text_comes_from_the_first_text_part_of_array_content()
    {
        var text = LastUserText("""
            {"model":"m","messages":[{"role":"user","content":[
              {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
              {"text":"first text","type":"text"},
              {"type":"text","text":"second text"}
            ]}]}
            """);
        Assert.Equal("first text", text);
    }

    [Fact]
    public void Last_user_text_decodes_escapes()
    {
        Assert.Equal("#roxy status", LastUserText("""{"model":"m","messages":[{"role":"user","content":"\u0023roxy status"}]}"""));
        Assert.Equal("say \"hi\"\n", LastUserText("""{"model":"m","messages":[{"role":"user","content":"say \"hi\"\n"}]}"""));
    }

    [Fact]
    public void Last_user_text_is_null_without_a_user_message()
    {
        Assert.Null(LastUserText("""{"model":"m","messages":[{"role":"system","content":"sys"}]}"""));
    }

    [Fact]
    public void Last_user_text_is_null_when_the_user_content_has_no_text_part()
    {
        Assert.Null(LastUserText("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}"""));
    }

    [Fact]
    public void Unknown_fields_are_skipped()
    {
        var info = ReadValid("""
            {"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
             "response_format":{"type":"json_object"},"temperature":0,"x_unknown":[1,{"a":null}],
             "messages":[{"role":"user","content":"hi","name":"bob"}]}
            """);
        Assert.Equal("m", info.Model);
        Assert.Equal(1, info.MessageCount);
    }

    [Theory]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]")]
    [InlineData("{\"model\":\"m\",,\"messages\":[]}")]
    [InlineData("{model:\"m\"}")]
    [InlineData("")]
    [InlineData("not json")]
    public void Malformed_json_is_rejected_without_param(string json)
    {
        AssertInvalid(json, null);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"string\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void Non_object_body_is_rejected_without_param(string json)
    {
        AssertInvalid(json, null);
    }

    [Fact]
    public void Missing_model_is_rejected_on_model()
    {
        AssertInvalid("""{"messages":[{"role":"user","content":"hi"}]}""", "model");
    }

    [Fact]
    public void Empty_model_is_rejected_on_model()
    {
        AssertInvalid("""{"model":"","messages":[{"role":"user","content":"hi"}]}""", "model");
    }

    [Theory]
    [InlineData("5")]
    [InlineData("null")]
    [InlineData("{\"id\":\"m\"}")]
    public void Non_string_model_is_rejected_on_model(string value)
    {
        AssertInvalid($$"""{"model":{{value}},"messages":[{"role":"user","content":"hi"}]}""", "model");
    }

    [Fact]
    public void Missing_messages_is_rejected_on_messages()
    {
        AssertInvalid("""{"model":"m"}""", "messages");
    }

    [Fact]
    public void Empty_messages_array_is_rejected_on_messages()
    {
        AssertInvalid("""{"model":"m","messages":[]}""", "messages");
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("\"hi\"")]
    [InlineData("null")]
    public void Messages_that_are_not_an_array_are_rejected_on_messages(string value)
    {
        AssertInvalid($$"""{"model":"m","messages":{{value}}}""", "messages");
    }

    [Fact]
    public void Message_that_is_not_an_object_is_rejected_on_its_index()
    {
        AssertInvalid("""{"model":"m","messages":[{"role":"user","content":"hi"},"oops"]}""", "messages[1]");
    }

    [Fact]
    public void Message_without_role_is_rejected_on_its_role()
    {
        AssertInvalid("""{"model":"m","messages":[{"content":"hi"}]}""", "messages[0].role");
        AssertInvalid("""{"model":"m","messages":[{"role":"user","content":"a"},{"role":null,"content":"b"}]}""", "messages[1].role");
    }

    [Theory]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}garbage")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}{}")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}")]
    public void Trailing_garbage_after_the_object_is_rejected(string json)
    {
        AssertInvalid(json, null);
    }

    [Fact]
    public void Trailing_whitespace_after_the_object_is_accepted()
    {
        ReadValid("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\r\n  \n");
    }

    [Fact]
    public void Invalid_utf8_in_the_model_is_a_400_not_an_exception()
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"m?","messages":[{"role":"user","content":"hi"}]}""");
        body[Array.IndexOf(body, (byte)'?')] = 0xFF;

        var error = ChatRequestReader.TryRead(body, out _);

        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
    }

    [Fact]
    public void Invalid_utf8_in_a_command_text_is_a_400()
    {
        // Text that may be a #roxy command is decoded while reading, so bad UTF-8 there is caught up front.
        var body = Encoding.UTF8.GetBytes("""{"model":"m","messages":[{"role":"user","content":"#roxy ?"}]}""");
        body[Array.IndexOf(body, (byte)'?')] = 0xFF;
        var error = ChatRequestReader.TryRead(body, out _);

        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
    }

    [Fact]
    public void Include_usage_that_is_not_true_is_located_for_overwriting()
    {
        const string json = """{"model":"m","stream":true,"stream_options":{"include_usage": false},"messages":[{"role":"user","content":"hi"}]}""";
        var info = ReadValid(json);

        Assert.Equal("false", json[info.IncludeUsageValue!.Value]);
    }
}

public class ChatRequestReaderBoundsTests
{
    [Theory]
    [InlineData("""{"model":"gpt-4o","max_tokens":2147483647,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens")]
    [InlineData("""{"model":"gpt-4o","max_completion_tokens":10000001,"messages":[{"role":"user","content":"hi"}]}""", "max_completion_tokens")]
    [InlineData("""{"model":"gpt-4o","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens")]
    [InlineData("""{"model":"gpt-4o\r\n","messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"gpt\u00e9","messages":[{"role":"user","content":"hi"}]}""", "model")]
    public void Out_of_range_values_are_refused_naming_the_field(string json, string param)
    {
        var error = ChatRequestReader.TryRead(Encoding.UTF8.GetBytes(json), out _);

        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal(param, error.Param);
    }

    [Fact]
    public void Largest_accepted_budget_is_read()
    {
        var json = """{"model":"openrouter/anthropic/claude-3.5-sonnet:beta","max_tokens":10000000,"messages":[{"role":"user","content":"hi"}]}""";
        Assert.Null(ChatRequestReader.TryRead(Encoding.UTF8.GetBytes(json), out var info));
        Assert.Equal(10_000_000, info.MaxTokens);
    }
}
