using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Roxy.FakeUpstream;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The fake upstream's server-wide fault switch, which the fault drill flips at run time: a hang, a reset mid-answer
/// and garbage, each for every key at once, ahead of per-key behaviours, and gone again when cleared.
/// </summary>
public sealed class FakeUpstreamFaultTests : IAsyncLifetime
{
    private const string Json = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""";
    private const string Stream = """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
    private static readonly HttpClient Http = new();
    private FakeOpenAiServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeOpenAiServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_hang_answers_no_one_until_the_client_gives_up_and_clearing_it_answers_again()
    {
        _server.SetFault(FakeResponse.Hang());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Http.SendAsync(Post(Json, "sk-a"), cts.Token));
        Assert.Equal(1, _server.CountFor("sk-a"));

        _server.SetFault(null);
        using var response = await Http.SendAsync(Post(Json, "sk-a"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Hello from the fake upstream", Content(await response.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task A_reset_cuts_streams_after_the_first_content_chunk_and_json_answers_after_a_few_bytes()
    {
        _server.SetFault(FakeResponse.ResetMidAnswer());

        using (var response = await Http.SendAsync(Post(Stream, "sk-b"), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var events = new List<string>();
            async Task ReadAsync()
            {
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                while (await reader.ReadLineAsync() is { } line)
                {
                    if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        events.Add(line);
                    }
                }
            }

            await Assert.ThrowsAnyAsync<Exception>(ReadAsync);
            Assert.Equal(2, events.Count);
            Assert.DoesNotContain("data: [DONE]", events);
        }

        using (var response = await Http.SendAsync(Post(Json, "sk-b"), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Content.Headers.ContentLength > 40);
            var error = await Assert.ThrowsAnyAsync<Exception>(response.Content.ReadAsStringAsync);
            Assert.True(error is HttpRequestException or IOException, error.ToString());
        }
    }

    [Fact]
    public async Task Garbage_is_a_200_that_is_neither_json_nor_a_stream_of_events()
    {
        _server.SetFault(FakeResponse.GarbageAnswer());

        using (var response = await Http.SendAsync(Post(Json, "sk-c")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var text = await response.Content.ReadAsStringAsync();
            Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(text));
        }

        using (var response = await Http.SendAsync(Post(Stream, "sk-c")))
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var lines = (await response.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(lines);
            Assert.All(lines, l => Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(l[6..])));
            Assert.DoesNotContain("data: [DONE]", lines);
        }
    }

    [Fact]
    public async Task The_fault_goes_ahead_of_per_key_behaviours_and_per_key_limits_still_count_first()
    {
        _server.SetKeyBehavior("sk-d", FakeResponse.ServerError());
        _server.SetKeyLimit("sk-d", 1);
        _server.SetFault(FakeResponse.GarbageAnswer());

        using var first = await Http.SendAsync(Post(Json, "sk-d"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var garbage = await first.Content.ReadAsStringAsync();
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(garbage));
        using var second = await Http.SendAsync(Post(Json, "sk-d"));
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);

        _server.SetFault(null);
        _server.SetKeyLimit("sk-d", 0);
        using var third = await Http.SendAsync(Post(Json, "sk-d"));
        Assert.Equal(HttpStatusCode.InternalServerError, third.StatusCode);
    }

    [Fact]
    public async Task Window_counts_can_be_limited_to_a_stretch_of_time()
    {
        var before = Stopwatch.GetTimestamp();
        for (var i = 0; i < 3; i++)
        {
            using var response = await Http.SendAsync(Post(Json, "sk-e"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var between = Stopwatch.GetTimestamp();
        using (var response = await Http.SendAsync(Post(Json, "sk-e")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(4, _server.MaxRequestsInAnyWindow("sk-e", TimeSpan.FromSeconds(60)));
        Assert.Equal(3, _server.MaxRequestsInAnyWindow("sk-e", TimeSpan.FromSeconds(60), before, between));
        Assert.Equal(1, _server.MaxRequestsInAnyWindow("sk-e", TimeSpan.FromSeconds(60), between, long.MaxValue));
        Assert.Equal(0, _server.MaxRequestsInAnyWindow("sk-e", TimeSpan.FromSeconds(60), long.MinValue, before));
    }

    private HttpRequestMessage Post(string body, string key) =>
        new(HttpMethod.Post, new Uri(_server.BaseUrl + "/chat/completions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) },
        };

    private static string? Content(string json) =>
        JsonDocument.Parse(json).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
}
