using System.Text;
using Roxy.Api.Providers.OpenAi;

namespace Roxy.Tests.Unit.Providers;

public sealed class OpenAiErrorBodyTests
{
    [Fact]
    public void Error_body_is_read_into_roxys_terms()
    {
        var error = OpenAiErrorBody.Describe(400, """{"error":{"message":"too long","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"""u8);

        Assert.Equal(400, error.Status);
        Assert.Equal("too long", error.Message);
        Assert.Equal("messages", error.Param);
        Assert.Equal("context_length_exceeded", error.Code);
    }

    [Theory]
    [InlineData("""{"error":{"message":"bad \ud800 text","type":"invalid_request_error"}}""")]
    [InlineData("""{"error":{"\udc00":"x"}}""")]
    [InlineData("not json at all")]
    public void Broken_error_body_is_described_by_its_status_never_thrown(string body)
    {
        var error = OpenAiErrorBody.Describe(422, Encoding.UTF8.GetBytes(body));

        Assert.Equal(422, error.Status);
        Assert.False(string.IsNullOrEmpty(error.Message));
    }

    [Fact]
    public void Invalid_utf8_in_an_error_body_is_described_never_thrown()
    {
        byte[] body = [.. """{"error":{"message":"bad """u8, 0xFF, .. """ text"}}"""u8];

        var error = OpenAiErrorBody.Describe(400, body);

        Assert.Equal(400, error.Status);
    }
}
