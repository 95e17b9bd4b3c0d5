using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Requests shaped to break the request path (found by review): each answers with a clear OpenAI-shaped 4xx,
/// never a 500 or an empty body, and nothing reaches the provider.
/// </summary>
public sealed class RequestHardeningTests : IClassFixture<ProxyFixture>
{
    private const string CommandTurn = """{"role":"user","content":"#roxy help"},{"role":"assistant","content":"Roxy commands: ..."},""";

    private readonly ProxyFixture _f;

    public RequestHardeningTests(ProxyFixture fixture)
    {
        _f = fixture;
        _f.Upstream.Reset();
    }

    [Theory]
    [InlineData("max_tokens", 2147483647)]
    [InlineData("max_completion_tokens", 2147483647)]
    [InlineData("max_tokens", 10_000_001)]
    public async Task Absurd_completion_budget_is_400_naming_the_field(string field, long value)
    {
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken,
            $$"""{"model":"gpt-4o-mini","{{field}}":{{value}},"messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, error.GetProperty("param").GetString());
        Assert.Contains("10000000", error.GetProperty("message").GetString());
        Assert.Empty(_f.Upstream.Requests);
    }

    [Theory]
    [InlineData("gpt-4o-mini\r\nx-injected: 1")]
    [InlineData("gpt-4o-mini\n")]
    [InlineData("gpt-4o-мини")]
    [InlineData("gpt 4o")]
    public async Task Model_name_that_cannot_be_a_header_is_400_before_any_upstream_call(string model)
    {
        var response = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken,
            $$"""{"model":{{JsonSerializer.Serialize(model)}},"messages":[{"role":"user","content":"hi"}]}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Empty(_f.Upstream.Requests);
        Assert.DoesNotContain(_f.Roxy.Logs.Lines, l => l.Contains("x-injected", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deep_nesting_after_a_command_turn_answers_as_it_does_without_one()
    {
        // Depth 73: over the default reader depth of 64, under the 128 the request reader accepts.
        var deep = new string('[', 70) + new string(']', 70);
        var plain = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken,
            $$"""{"model":"gpt-4o-mini","extra":{{deep}},"messages":[{"role":"user","content":"hi"}]}""");
        var withCommand = await _f.Roxy.PostChatAsync(ProxyFixture.AdminToken,
            $$"""{"model":"gpt-4o-mini","extra":{{deep}},"messages":[{{CommandTurn}}{"role":"user","content":"hi"}]}""");

        Assert.True((int)plain.StatusCode < 500, $"without a command turn: {(int)plain.StatusCode}");
        Assert.Equal(plain.StatusCode, withCommand.StatusCode);
        Assert.NotEmpty(await withCommand.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"role":"us_r","content":"hi"}""")]
    [InlineData("""{"role":"user","content":[{"type":"te_t","text":"hi"}]}""")]
    public async Task Invalid_utf8_in_a_message_after_a_command_turn_is_a_clear_answer(string message)
    {
        // The '_' becomes byte 0xFF: the history stripper reads these fields too, and must not throw on them.
        var json = Encoding.UTF8.GetBytes($$"""{"model":"gpt-4o-mini","messages":[{{CommandTurn}}{{message}},{"role":"user","content":"hi"}]}""");
        json[Array.IndexOf(json, (byte)'_')] = 0xFF;

        var response = await PostBytesAsync(json);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True((int)response.StatusCode < 500, $"status {(int)response.StatusCode}: {body}");
        Assert.NotEmpty(body);
    }

    private Task<HttpResponseMessage> PostBytesAsync(byte[] json) =>
        _f.Roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", ProxyFixture.AdminToken, configure: r =>
        {
            r.Content = new ByteArrayContent(json);
            r.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        });
}

/// <summary>Header values Kestrel alone would refuse with an empty body reach Roxy and get its answer.</summary>
public sealed class RawHeaderTests(ProxyFixture fixture) : IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task Non_ascii_token_is_401_in_openai_shape_not_an_empty_400()
    {
        var body = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"""u8.ToArray();
        var head = Encoding.ASCII.GetBytes(
            $"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\nx-api-key: tok-");
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync("127.0.0.1", fixture.Roxy.BaseUrl.Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(head);
        await stream.WriteAsync(new byte[] { 0xFF, 0xFE, (byte)'\r', (byte)'\n', (byte)'\r', (byte)'\n' });
        await stream.WriteAsync(body);
        using var reader = new StreamReader(stream);
        var answer = await reader.ReadToEndAsync();

        Assert.StartsWith("HTTP/1.1 401", answer, StringComparison.Ordinal);
        Assert.Contains("\"invalid_api_key\"", answer, StringComparison.Ordinal);
    }
}
