using System.Net;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Only complete, successful answers are stored (issue 10 item 3): a stream ended by an error, a stream cut off, a
/// stream that just stops, and an upstream error all leave nothing behind, so the next identical request goes upstream.
/// Each case keeps to a tenant of its own: a failing provider may cool its key down for a moment.
/// </summary>
[Collection(CacheGroup.Name)]
public sealed class PromptCacheNotStoredTests
{
    // The scratch tenants' keys cool down for 1 s after a failure; waiting that out keeps the next request's upstream
    // call a matter of the cache alone.
    private static readonly TimeSpan Cooldown = TimeSpan.FromMilliseconds(1200);

    private readonly CacheFixture _f;

    public PromptCacheNotStoredTests(CacheFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private static string Chat(string model, string prompt, bool stream) =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{prompt}}"}],"stream":{{(stream ? "true" : "false")}}}""";

    private static string Messages(string model, string prompt, bool stream) =>
        $$"""{"model":"{{model}}","max_tokens":64,"messages":[{"role":"user","content":"{{prompt}}"}],"stream":{{(stream ? "true" : "false")}}}""";

    private static string? CacheHeader(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-roxy-cache", out var values) ? values.Single() : null;

    /// <summary>A chat request whose answer is read later, so that a stream Roxy cuts off can still be looked at.</summary>
    private Task<HttpResponseMessage> StreamChatAsync(string token, string json) =>
        _f.Roxy.SendAsync(HttpMethod.Post, "v1/chat/completions", token, json, completion: HttpCompletionOption.ResponseHeadersRead);

    /// <summary>The body, or what arrived of it before the connection went.</summary>
    private static async Task<string> ReadAsync(HttpResponseMessage response)
    {
        var text = new System.Text.StringBuilder();
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                text.Append(line).Append('\n');
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // Cut off: what arrived is what there is.
        }

        return text.ToString();
    }

    [Fact]
    public async Task A_stream_ended_by_an_error_is_not_stored()
    {
        var token = CacheFixture.TokenOf("cut");
        var prompt = CacheFixture.Marker("error-mid-stream");
        for (var i = 1; i <= 2; i++)
        {
            var response = await StreamChatAsync(token, Chat(CacheFixture.CutOff, prompt, stream: true));
            var body = await ReadAsync(response);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("miss", CacheHeader(response));
            // Roxy ends the client's stream without an end marker (an OpenAI client sees the connection fail).
            Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
            Assert.Equal(i, _f.UpstreamCalls(prompt));
            await Task.Delay(Cooldown);
        }
    }

    [Fact]
    public async Task A_stream_cut_off_mid_answer_is_not_stored_and_the_next_complete_one_is()
    {
        var token = CacheFixture.TokenOf("drop");
        var prompt = CacheFixture.Marker("dropped");
        _f.OpenAi.Enqueue(new FakeResponse { DropAfterEvents = 3 });
        var cut = await StreamChatAsync(token, Chat(CacheFixture.Text, prompt, stream: true));
        var partial = await ReadAsync(cut);
        Assert.Equal("miss", CacheHeader(cut));
        Assert.DoesNotContain("[DONE]", partial, StringComparison.Ordinal);
        Assert.Equal(1, _f.UpstreamCalls(prompt));
        await Task.Delay(Cooldown);

        var whole = await _f.Roxy.PostChatAsync(token, Chat(CacheFixture.Text, prompt, stream: true));
        Assert.Contains("[DONE]", await whole.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("miss", CacheHeader(whole));
        Assert.Equal(2, _f.UpstreamCalls(prompt));

        var hit = await _f.Roxy.PostChatAsync(token, Chat(CacheFixture.Text, prompt, stream: false));
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal("hit", CacheHeader(hit));
        Assert.Equal(2, _f.UpstreamCalls(prompt));
    }

    [Fact]
    public async Task A_messages_stream_that_stops_without_message_stop_is_not_stored()
    {
        var token = CacheFixture.TokenOf("errors");
        var prompt = CacheFixture.Marker("truncated");
        for (var i = 1; i <= 2; i++)
        {
            var response = await _f.Roxy.SendAsync(HttpMethod.Post, "v1/messages", null, Messages(CacheFixture.PassThroughTruncated, prompt, stream: true), r =>
            {
                r.Headers.TryAddWithoutValidation("x-api-key", token);
                r.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
            }, HttpCompletionOption.ResponseHeadersRead);
            var body = await ReadAsync(response);
            Assert.Equal("miss", CacheHeader(response));
            Assert.DoesNotContain("event: message_stop", body, StringComparison.Ordinal);
            Assert.Equal(i, _f.UpstreamCalls(prompt));
            await Task.Delay(Cooldown);
        }
    }

    [Fact]
    public async Task An_upstream_error_is_not_stored_and_carries_the_cache_header()
    {
        var token = CacheFixture.TokenOf("errors");
        var prompt = CacheFixture.Marker("upstream-error");
        for (var i = 1; i <= 2; i++)
        {
            var response = await _f.PostMessagesAsync(token, Messages(CacheFixture.TooLong, prompt, stream: false));
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("invalid_request_error", body, StringComparison.Ordinal);
            Assert.Equal("miss", CacheHeader(response));
            Assert.Equal(i, _f.UpstreamCalls(prompt));
        }

        var chatPrompt = CacheFixture.Marker("upstream-error-json");
        for (var i = 1; i <= 2; i++)
        {
            var response = await _f.Roxy.PostChatAsync(CacheFixture.TokenOf("cut"), Chat(CacheFixture.CutOff, chatPrompt, stream: false));
            Assert.True((int)response.StatusCode >= 500, $"the fake's 500 reaches the client as a 5xx, not {(int)response.StatusCode}");
            Assert.Equal("miss", CacheHeader(response));
            Assert.True(_f.UpstreamCalls(chatPrompt) >= i, "the second request went upstream again");
            await Task.Delay(Cooldown);
        }
    }
}
