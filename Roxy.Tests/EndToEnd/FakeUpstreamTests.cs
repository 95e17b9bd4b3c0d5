using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using Roxy.FakeUpstream;

namespace Roxy.Tests.EndToEnd;

/// <summary>Proves the fake upstream speaks the wire format the official OpenAI .NET SDK accepts, and that scripting works.</summary>
public sealed class FakeUpstreamTests : IAsyncLifetime
{
    private const string ChatBody = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}""";
    private FakeOpenAiServer _server = null!;
    private static readonly HttpClient Http = new();

    public async Task InitializeAsync() => _server = await FakeOpenAiServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
    }

    private ChatClient Sdk(string key = "sk-test") =>
        new("gpt-4o-mini", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = _server.BaseUrl });

    private HttpRequestMessage Post(string body, string? key = "sk-raw") =>
        new(HttpMethod.Post, new Uri(_server.BaseUrl + "/chat/completions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
            Headers = { Authorization = key is null ? null : new AuthenticationHeaderValue("Bearer", key) },
        };

    [Fact]
    public async Task Sdk_non_streaming_completion_parses()
    {
        ChatCompletion completion = await Sdk().CompleteChatAsync([new UserChatMessage("Say hello")]);

        Assert.Equal("Hello from the fake upstream", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("gpt-4o-mini", completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.Equal(5, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.Equal(completion.Usage.InputTokenCount + 5, completion.Usage.TotalTokenCount);

        var recorded = Assert.Single(_server.Requests);
        Assert.Equal("POST", recorded.Method);
        Assert.Equal("/v1/chat/completions", recorded.Path);
        Assert.Equal("sk-test", recorded.ApiKey);
        Assert.Equal("Bearer sk-test", recorded.Headers["authorization"]);
        Assert.Contains("Say hello", recorded.Body, StringComparison.Ordinal);
        Assert.Equal(1, _server.CountFor("sk-test"));
    }

    [Fact]
    public async Task Sdk_streaming_completion_parses_with_usage()
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in Sdk().CompleteChatStreamingAsync([new UserChatMessage("Say hello")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal("Hello from the fake upstream", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        var body = Assert.Single(_server.Requests).Body;
        using var doc = JsonDocument.Parse(body);
        Assert.True(doc.RootElement.GetProperty("stream").GetBoolean());
        // The SDK asks for include_usage by default, so the final usage-only chunk must have been parsed.
        Assert.True(doc.RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.NotNull(usage);
        Assert.Equal(5, usage.OutputTokenCount);
    }

    [Fact]
    public async Task Raw_stream_has_usage_null_on_chunks_then_usage_chunk_then_done()
    {
        using var resp = await Http.SendAsync(Post("""{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true}}"""));
        Assert.Equal("text/event-stream", resp.Content.Headers.ContentType?.MediaType);
        var events = (await resp.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(1 + 5 + 1 + 1 + 1, events.Length); // role, 5 words, finish, usage, [DONE]
        Assert.Equal("data: [DONE]", events[^1]);
        foreach (var e in events[..^2])
        {
            Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("usage").ValueKind);
        }
        var last = JsonDocument.Parse(events[^2]["data: ".Length..]).RootElement;
        Assert.Equal(0, last.GetProperty("choices").GetArrayLength());
        Assert.Equal(5, last.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Scripted_429_carries_retry_after_and_openai_error_body()
    {
        _server.Enqueue(FakeResponse.RateLimited(retryAfterSeconds: 7));

        using var first = await Http.SendAsync(Post(ChatBody));
        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), first.Headers.RetryAfter?.Delta);
        Assert.Equal("0", first.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        var error = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));

        using var second = await Http.SendAsync(Post(ChatBody)); // queue consumed → normal answer
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("fake-org", second.Headers.GetValues("openai-organization").Single());
        Assert.True(second.Headers.Contains("x-request-id"));
    }

    [Fact]
    public async Task Key_behavior_and_key_limit_are_enforced()
    {
        _server.SetKeyBehavior("sk-bad", FakeResponse.Unauthorized());
        _server.SetKeyLimit("sk-limited", 2);

        using var bad = await Http.SendAsync(Post(ChatBody, "sk-bad"));
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var r = await Http.SendAsync(Post(ChatBody, "sk-limited"));
            statuses.Add(r.StatusCode);
            if (i == 2)
            {
                Assert.True(r.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            }
        }
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(3, _server.MaxRequestsInAnyWindow("sk-limited", TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Bad_json_is_400_and_drop_mid_stream_breaks_the_connection()
    {
        using var badJson = await Http.SendAsync(Post("{\"model\":"));
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        Assert.Equal("invalid_request_error", JsonDocument.Parse(await badJson.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());

        _server.Enqueue(new FakeResponse { DropAfterEvents = 2 });
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var req = Post("""{"model":"m","messages":[],"stream":true}""");
            using var resp = await Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
            await resp.Content.ReadAsStringAsync();
        });
    }

    [Fact]
    public async Task Sse_error_before_content_and_first_event_delay()
    {
        _server.Enqueue(new FakeResponse { SseErrorBeforeContent = true, ErrorType = "server_error", ErrorMessage = "boom" });
        using var errResp = await Http.SendAsync(Post("""{"model":"m","messages":[],"stream":true}"""));
        Assert.Equal(HttpStatusCode.OK, errResp.StatusCode);
        var text = await errResp.Content.ReadAsStringAsync();
        Assert.StartsWith("data: {\"error\":", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);

        _server.Enqueue(new FakeResponse { DelayBeforeFirstEvent = TimeSpan.FromMilliseconds(300) });
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var slow = await Http.SendAsync(Post("""{"model":"m","messages":[],"stream":true}"""), HttpCompletionOption.ResponseHeadersRead);
        var headersAt = sw.Elapsed;
        var body = await slow.Content.ReadAsStringAsync();
        Assert.True(headersAt < TimeSpan.FromMilliseconds(250), $"headers took {headersAt}");
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(290), $"body took {sw.Elapsed}");
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sdk_reads_the_fakes_embeddings_in_both_encodings()
    {
        var client = new OpenAI.Embeddings.EmbeddingClient("text-embedding-3-small", new ApiKeyCredential("sk-test"), new OpenAIClientOptions { Endpoint = _server.BaseUrl });
        // The SDK asks for base64 and decodes it; the float form of the same request must carry the same numbers.
        var viaSdk = (await client.GenerateEmbeddingsAsync(["one", "two"], new OpenAI.Embeddings.EmbeddingGenerationOptions { Dimensions = 12 })).Value;
        using var floats = await Http.SendAsync(PostTo("/embeddings", """{"model":"text-embedding-3-small","input":["one","two"],"dimensions":12,"encoding_format":"float"}"""));
        using var json = JsonDocument.Parse(await floats.Content.ReadAsStringAsync());

        Assert.Equal(2, viaSdk.Count);
        for (var i = 0; i < 2; i++)
        {
            var expected = json.RootElement.GetProperty("data")[i].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(12, expected.Length);
            Assert.Equal(expected, viaSdk[i].ToFloats().ToArray());
        }

        Assert.Equal(json.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), viaSdk.Usage.InputTokenCount);
        Assert.Equal(2, viaSdk.Usage.InputTokenCount);
    }

    [Theory]
    [InlineData("""{"model":"text-embedding-3-small","input":""}""", 400, "'$.input' is invalid")]
    [InlineData("""{"model":"text-embedding-3-small","input":[]}""", 400, "'$.input' is invalid")]
    [InlineData("""{"model":"text-embedding-3-small","input":["a",1]}""", 400, "'$.input' is invalid")]
    [InlineData("""{"model":"text-embedding-3-small","input":[[1],[]]}""", 400, "'$.input' is invalid")]
    [InlineData("""{"model":"text-embedding-3-small"}""", 400, "'input' is a required property")]
    [InlineData("""{"input":"a"}""", 400, "you must provide a model parameter")]
    [InlineData("""{"model":"text-embedding-3-small","input":"a","stream":true}""", 400, "Unrecognized request argument supplied: stream")]
    [InlineData("""{"model":"text-embedding-3-small","input":"a","encoding_format":"int8"}""", 400, "Supported values are: 'float' and 'base64'")]
    [InlineData("""{"model":"text-embedding-ada-002","input":"a","dimensions":8}""", 400, "does not support specifying dimensions")]
    [InlineData("""{"model":"text-embedding-3-small","input":"a","dimensions":4096}""", 400, "at most 1536 dimensions")]
    [InlineData("""{"model":"text-embedding-3-small","input":"a","dimensions":0}""", 400, "'dimensions'")]
    [InlineData("""{"model":"gpt-4o-mini","input":"a"}""", 404, "does not exist")]
    public async Task Fake_embeddings_refuse_what_openai_refuses(string body, int status, string says)
    {
        using var response = await Http.SendAsync(PostTo("/embeddings", body));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(says, json.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fake_embeddings_enforce_openais_sizes()
    {
        var tooLong = JsonSerializer.Serialize(new { model = "text-embedding-3-small", input = new string('a', 4 * 8192 + 4) });
        var tooMany = JsonSerializer.Serialize(new { model = "text-embedding-3-small", input = Enumerable.Repeat("a", 2049) });

        using var longAnswer = await Http.SendAsync(PostTo("/embeddings", tooLong));
        using var manyAnswer = await Http.SendAsync(PostTo("/embeddings", tooMany));

        Assert.Equal(HttpStatusCode.BadRequest, longAnswer.StatusCode);
        Assert.Contains("maximum context length is 8192 tokens", await longAnswer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, manyAnswer.StatusCode);
    }

    private HttpRequestMessage PostTo(string path, string body) =>
        new(HttpMethod.Post, new Uri(_server.BaseUrl + path))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "sk-raw") },
        };
}
