using System.Net;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>Bad input gets a clear OpenAI-shaped error and never reaches the provider.</summary>
public sealed class RequestValidationTests : IClassFixture<ProxyFixture>
{
    private readonly ProxyFixture _f;

    public RequestValidationTests(ProxyFixture fixture)
    {
        _f = fixture;
        _f.Upstream.Reset();
    }

    [Theory]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}""", null)]
    [InlineData("""not json""", null)]
    [InlineData("""[1,2]""", null)]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"","messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":42,"messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"gpt-4o-mini"}""", "messages")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[]}""", "messages")]
    [InlineData("""{"model":"gpt-4o-mini","messages":"hi"}""", "messages")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"model":"gpt-4o-mini","stream":"yes","messages":[{"role":"user","content":"hi"}]}""", "stream")]
    public async Task Invalid_request_is_400_with_param(string body, string? param)
    {
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken, body);
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Empty(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Body_over_the_limit_is_413()
    {
        var huge = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 70_000) + "\"}]}";
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken, huge);
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        Assert.Empty(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Chunked_body_over_the_limit_is_413_too()
    {
        var huge = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 70_000) + "\"}]}";
        var response = await _f.Roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", ProxyFixture.AdminToken, configure: r =>
        {
            r.Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(huge)));
            r.Headers.TransferEncodingChunked = true;
        });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token")]
    [InlineData("")]
    public async Task Missing_or_wrong_token_is_401(string? token)
    {
        var response = await _f.Roxy.PostChatAsync(token!, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Empty(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Models_without_a_token_is_401()
    {
        var response = await _f.Roxy.SendAsync(HttpMethod.Get, "v1/models", "nope");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await ChatCompletionsTests.ErrorAsync(response);
    }

    [Fact]
    public async Task X_api_key_header_authenticates_too()
    {
        var response = await _f.Roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", null,
            """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""",
            r => r.Headers.TryAddWithoutValidation("x-api-key", ProxyFixture.MemberToken));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_token_that_authenticated_before_does_not_let_a_near_copy_in()
    {
        var body = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""";
        var token = ProxyFixture.MemberToken;
        Assert.Equal(HttpStatusCode.OK, (await _f.Roxy.PostChatAsync(token, body)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _f.Roxy.PostChatAsync(token, body)).StatusCode);

        // Remembered tokens are matched whole: a prefix, an extension or one changed character is still refused.
        foreach (var near in new[] { token[..^1], token + "x", token[..^1] + (token[^1] == 'a' ? 'b' : 'a') })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await _f.Roxy.PostChatAsync(near, body)).StatusCode);
        }
    }
}
