using System.Text;
using Roxy.Api.Errors;
using Roxy.Api.Proxy;

namespace Roxy.Tests.Unit.Proxy;

public class EmbeddingsRequestReaderTests
{
    private static (ProxyError? Error, EmbeddingsRequestInfo Info, byte[] Body) Read(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var error = EmbeddingsRequestReader.TryRead(body, out var info);
        return (error, info, body);
    }

    [Theory]
    [InlineData("""{"model":"text-embedding-3-small","input":"The food was delicious."}""", "\"The food was delicious.\"")]
    [InlineData("""{"input":["a","b","c"],"model":"text-embedding-3-small"}""", "[\"a\",\"b\",\"c\"]")]
    [InlineData("""{"model":"text-embedding-3-small","input":[1, 2, 3]}""", "[1, 2, 3]")]
    [InlineData("""{"model":"text-embedding-3-small","input":[[1,2],[3],[4,5,6]]}""", "[[1,2],[3],[4,5,6]]")]
    public void Each_of_openais_four_input_shapes_is_read(string json, string input)
    {
        var (error, info, body) = Read(json);

        Assert.Null(error);
        Assert.Equal("text-embedding-3-small", info.Model);
        Assert.Equal("\"text-embedding-3-small\"", Encoding.UTF8.GetString(body[info.ModelValue]));
        Assert.Equal(input, Encoding.UTF8.GetString(body[info.InputValue]));
    }

    [Fact]
    public void Optional_and_unknown_fields_are_left_to_the_provider()
    {
        var (error, info, _) = Read("""{"model":"m","input":"x","encoding_format":"nonsense","dimensions":"many","user":{"a":1},"extra":[1,{"b":null}]}""");

        Assert.Null(error);
        Assert.Equal("m", info.Model);
    }

    [Theory]
    [InlineData("""{"model":"m","input":""}""", "input", "empty string")]
    [InlineData("""{"model":"m","input":[]}""", "input", "empty array")]
    [InlineData("""{"model":"m","input":[[1],[]]}""", "input", "'input[1]' must not be an empty array")]
    [InlineData("""{"model":"m","input":["a","b",""]}""", "input", "'input[2]' must not be an empty string")]
    [InlineData("""{"model":"m","input":["a",["b"]]}""", "input", "'input[1]' must be a string")]
    [InlineData("""{"model":"m","input":[1,2,"3"]}""", "input", "'input[2]' must be a token id")]
    [InlineData("""{"model":"m","input":[[1],[2,-3]]}""", "input", "'input[1][1]' must be a token id")]
    [InlineData("""{"model":"m","input":[[1],[2,3.5]]}""", "input", "'input[1][1]' must be a token id")]
    [InlineData("""{"model":"m","input":[1,2147483648]}""", "input", "'input[1]' must be a token id")]
    [InlineData("""{"model":"m","input":[[1],"a"]}""", "input", "'input[1]' must be an array of token ids")]
    [InlineData("""{"model":"m","input":false}""", "input", "must be a string, an array of strings")]
    [InlineData("""{"model":"m","input":[null]}""", "input", "must be a string, an array of strings")]
    [InlineData("""{"model":"m","input":[{"text":"a"}]}""", "input", "must be a string, an array of strings")]
    [InlineData("""{"model":"m"}""", "input", "'input' is required")]
    [InlineData("""{"input":"a"}""", "model", "model parameter")]
    [InlineData("""{"model":null,"input":"a"}""", "model", "must be a string")]
    [InlineData("""{"model":"a\u0007b","input":"a"}""", "model", "printable ASCII")]
    [InlineData("""{"model":"m","input":"a",}""", null, "not valid JSON")]
    [InlineData("""{"model":"m","input":"a"}{}""", null, "not valid JSON")]
    [InlineData("""{"model":"m","input":"a" /* c */}""", null, "not valid JSON")]
    [InlineData("""[]""", null, "JSON object")]
    public void Bad_input_is_400_naming_the_field(string json, string? param, string says)
    {
        var (error, _, _) = Read(json);

        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_in_the_model_is_400_not_an_exception()
    {
        var body = "{\"model\":\"m"u8.ToArray().Concat(new byte[] { 0xC3, 0x28 }).Concat("\",\"input\":\"a\"}"u8.ToArray()).ToArray();

        var error = EmbeddingsRequestReader.TryRead(body, out _);

        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
    }

    [Fact]
    public void Nesting_beyond_the_limit_is_400()
    {
        var deep = new string('[', ChatRequestReader.MaxDepth + 1) + new string(']', ChatRequestReader.MaxDepth + 1);

        var (error, _, _) = Read($$"""{"model":"m","input":"a","x":{{deep}}}""");

        Assert.NotNull(error);
        Assert.Null(error.Param);
    }
}
