using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Embeddings;
using Roxy.Api.Proxy;
using Roxy.FakeUpstream;
using Roxy.Grains;
using Roxy.Grains.Rotation;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// <c>POST /v1/embeddings</c> over real HTTP: the official SDK through Roxy, rules with failover across providers,
/// rotation sized from the input, validation, and the body forwarded and answered unchanged.
/// </summary>
public sealed class EmbeddingsTests : IClassFixture<EmbeddingsFixture>
{
    private readonly EmbeddingsFixture _f;

    public EmbeddingsTests(EmbeddingsFixture fixture)
    {
        _f = fixture;
        _f.Upstream.Reset();
    }

    private static EmbeddingClient Sdk(string model, Uri endpoint, string key) =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = endpoint, NetworkTimeout = TimeSpan.FromSeconds(30) });

    private Task<HttpResponseMessage> PostAsync(string token, string json) =>
        _f.Roxy.SendAsync(HttpMethod.Post, "v1/embeddings", token, json);

    [Fact]
    public async Task Sdk_embeds_one_input_through_a_rule()
    {
        var embedding = (await Sdk("my-embed", _f.Roxy.V1, EmbeddingsFixture.Token).GenerateEmbeddingAsync("The food was delicious.")).Value;
        // The same request straight to the provider: Roxy must hand back exactly what it answers.
        var direct = (await Sdk("text-embedding-3-small", _f.Upstream.BaseUrl, EmbeddingsFixture.OpenAiKey).GenerateEmbeddingAsync("The food was delicious.")).Value;

        Assert.Equal(0, embedding.Index);
        Assert.Equal(16, embedding.ToFloats().Length);
        Assert.Equal(direct.ToFloats().ToArray(), embedding.ToFloats().ToArray());
        var upstream = _f.Upstream.Requests[0];
        Assert.Equal("/v1/embeddings", upstream.Path);
        Assert.Equal(EmbeddingsFixture.OpenAiKey, upstream.ApiKey);
        using var sent = JsonDocument.Parse(upstream.Body);
        Assert.Equal("text-embedding-3-small", sent.RootElement.GetProperty("model").GetString());
        Assert.Equal("base64", sent.RootElement.GetProperty("encoding_format").GetString());
    }

    [Fact]
    public async Task Sdk_embeds_a_batch_in_order_with_its_usage()
    {
        string[] inputs = ["first input", "a second, longer input", "third"];
        var options = new EmbeddingGenerationOptions { Dimensions = 8 };
        var result = (await Sdk("my-embed", _f.Roxy.V1, EmbeddingsFixture.Token).GenerateEmbeddingsAsync(inputs, options)).Value;
        var direct = (await Sdk("text-embedding-3-small", _f.Upstream.BaseUrl, EmbeddingsFixture.OpenAiKey).GenerateEmbeddingsAsync(inputs, options)).Value;

        Assert.Equal(3, result.Count);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(i, result[i].Index);
            Assert.Equal(8, result[i].ToFloats().Length);
            Assert.Equal(direct[i].ToFloats().ToArray(), result[i].ToFloats().ToArray());
        }

        Assert.NotEqual(result[0].ToFloats().ToArray(), result[1].ToFloats().ToArray());
        Assert.Equal("text-embedding-3-small", result.Model);
        Assert.True(result.Usage.InputTokenCount > 0);
        Assert.Equal(direct.Usage.InputTokenCount, result.Usage.InputTokenCount);
    }

    [Fact]
    public async Task Sdk_embeds_token_ids()
    {
        ReadOnlyMemory<int>[] inputs = [new[] { 9906, 1917 }, new[] { 791, 3691, 574, 18406, 13 }];
        var result = (await Sdk("text-embedding-3-small", _f.Roxy.V1, EmbeddingsFixture.Token).GenerateEmbeddingsAsync(inputs)).Value;

        Assert.Equal(2, result.Count);
        // The fake counts token ids by their number, as OpenAI bills them.
        Assert.Equal(7, result.Usage.InputTokenCount);
        using var sent = JsonDocument.Parse(Assert.Single(_f.Upstream.Requests).Body);
        Assert.Equal("[[9906,1917],[791,3691,574,18406,13]]", sent.RootElement.GetProperty("input").GetRawText());
    }

    [Fact]
    public async Task Body_is_forwarded_with_only_the_model_replaced_and_no_command_is_run()
    {
        // Odd spacing, escapes, member order and every optional field: nothing but the model may change.
        const string body = "{ \"user\" : \"user-\\u00e9\",\n  \"input\": [\"#roxy list keys\", \"caf\\u00e9 \\\"quoted\\\"\"],\t\"model\":\"my-embed\" ,\"encoding_format\":\"float\", \"dimensions\": 4 }";
        var response = await PostAsync(EmbeddingsFixture.Token, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.Replace("\"my-embed\"", "\"text-embedding-3-small\"", StringComparison.Ordinal), Assert.Single(_f.Upstream.Requests).Body);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, answer.RootElement.GetProperty("data").GetArrayLength());
        Assert.Equal(4, answer.RootElement.GetProperty("data")[0].GetProperty("embedding").GetArrayLength());
    }

    [Fact]
    public async Task Answer_is_passed_through_unchanged_with_roxys_headers()
    {
        var response = await PostAsync(EmbeddingsFixture.Token, """{"model":"my-embed","input":"hello there","encoding_format":"float"}""");
        var roxyAnswer = await response.Content.ReadAsStringAsync();
        // Replay what Roxy sent upstream straight to the provider: the same bytes must come back.
        using var direct = new HttpRequestMessage(HttpMethod.Post, new Uri(_f.Upstream.BaseUrl + "/embeddings"))
        {
            Content = new StringContent(_f.Upstream.Requests[0].Body, Encoding.UTF8, "application/json"),
        };
        direct.Headers.TryAddWithoutValidation("Authorization", "Bearer " + EmbeddingsFixture.OpenAiKey);
        using var http = new HttpClient();
        var providerAnswer = await (await http.SendAsync(direct)).Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(providerAnswer, roxyAnswer);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("text-embedding-3-small", Header(response, "x-roxy-model"));
        Assert.Equal("openai", Header(response, "x-roxy-provider"));
        Assert.Matches("^k-[0-9a-f]{10}$", Header(response, "x-roxy-key"));
        Assert.StartsWith("req_", Header(response, "x-request-id"), StringComparison.Ordinal);
        Assert.StartsWith("req_", Header(response, "x-upstream-request-id"), StringComparison.Ordinal);
        Assert.DoesNotContain(EmbeddingsFixture.OpenAiKey, string.Concat(response.Headers.Select(h => h.Key + string.Join(",", h.Value))), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Providers_caller_error_passes_through_without_retry()
    {
        // Roxy leaves unknown fields to the provider; OpenAI refuses them, and that answer is the client's.
        var response = await PostAsync(EmbeddingsFixture.Token, """{"model":"my-embed","input":"hi","stream":true}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Unrecognized request argument supplied: stream", error.GetProperty("message").GetString());
        Assert.Single(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Rule_fails_over_to_the_second_provider_on_a_server_error()
    {
        const string tenant = "fail-500";
        _f.Upstream.SetKeyBehavior(EmbeddingsFixture.KeyOf(tenant, "openai"), FakeResponse.ServerError());

        var response = await PostAsync(EmbeddingsFixture.TokenOf(tenant), """{"model":"my-embed","input":"fail over"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backup", Header(response, "x-roxy-provider"));
        Assert.Equal(new[] { EmbeddingsFixture.KeyOf(tenant, "openai"), EmbeddingsFixture.KeyOf(tenant, "backup") }, _f.Upstream.Requests.Select(r => r.ApiKey));
        Assert.All(_f.Upstream.Requests, r => Assert.Contains("\"model\":\"text-embedding-3-small\"", r.Body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rule_fails_over_to_the_second_provider_on_429_and_the_key_cools_down()
    {
        const string tenant = "fail-429";
        var limited = EmbeddingsFixture.KeyOf(tenant, "openai");
        _f.Upstream.SetKeyBehavior(limited, FakeResponse.RateLimited(retryAfterSeconds: 30));

        var first = await PostAsync(EmbeddingsFixture.TokenOf(tenant), """{"model":"my-embed","input":"one"}""");
        var second = await PostAsync(EmbeddingsFixture.TokenOf(tenant), """{"model":"my-embed","input":"two"}""");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("backup", Header(first, "x-roxy-provider"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("backup", Header(second, "x-roxy-provider"));
        // The cooling key is not asked again.
        Assert.Equal(1, _f.Upstream.CountFor(limited));
    }

    [Fact]
    public async Task Every_key_rate_limited_is_429_with_retry_after()
    {
        const string tenant = "all-429";
        _f.Upstream.SetKeyBehavior(EmbeddingsFixture.KeyOf(tenant, "openai"), FakeResponse.RateLimited(retryAfterSeconds: 40));
        _f.Upstream.SetKeyBehavior(EmbeddingsFixture.KeyOf(tenant, "backup"), FakeResponse.RateLimited(retryAfterSeconds: 45));

        var response = await PostAsync(EmbeddingsFixture.TokenOf(tenant), """{"model":"my-embed","input":"hi"}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.InRange(response.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 39, 46);
        Assert.Equal(2, _f.Upstream.Requests.Count);
    }

    [Fact]
    public async Task Reservation_is_sized_from_the_input_and_the_reported_usage_is_charged()
    {
        var token = EmbeddingsFixture.TokenOf(EmbeddingsFixture.SmallTenant);
        var rotation = _f.Roxy.Grains.GetGrain<IRotationGrain>(GrainKeys.Rotation(EmbeddingsFixture.SmallTenant, "openai"));

        // About 400 tokens of input against a key that allows 300 a minute: refused before any provider is asked.
        var large = JsonSerializer.Serialize(new { model = "text-embedding-3-small", input = new[] { string.Join(' ', Enumerable.Repeat("alpha beta gamma delta", 100)) } });
        var refused = await PostAsync(token, large);
        var error = await ChatCompletionsTests.ErrorAsync(refused);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        Assert.Equal("input", error.GetProperty("param").GetString());
        Assert.Empty(_f.Upstream.Requests);

        // A small input goes through; the window then holds what the provider reported, not Roxy's estimate.
        var small = """{"model":"text-embedding-3-small","input":["hello world hello world hello world hello world hello world","good morning"]}""";
        var estimate = Estimate(small);
        var answered = await PostAsync(token, small);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        using var answer = JsonDocument.Parse(await answered.Content.ReadAsStringAsync());
        var reported = answer.RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt64();
        Assert.NotEqual(estimate, reported);

        long inWindow = 0;
        await Eventually.TrueAsync(async () => (inWindow = (await rotation.GetUsageAsync()).Sum(k => k.TokensInWindow)) == reported);
        Assert.Equal(reported, inWindow);
    }

    [Theory]
    [InlineData("""{"model":"my-embed","input":""}""", "input")]
    [InlineData("""{"model":"my-embed","input":[]}""", "input")]
    [InlineData("""{"model":"my-embed","input":[[]]}""", "input")]
    [InlineData("""{"model":"my-embed","input":["a",""]}""", "input")]
    [InlineData("""{"model":"my-embed","input":42}""", "input")]
    [InlineData("""{"model":"my-embed","input":null}""", "input")]
    [InlineData("""{"model":"my-embed","input":{"text":"a"}}""", "input")]
    [InlineData("""{"model":"my-embed","input":["a",1]}""", "input")]
    [InlineData("""{"model":"my-embed","input":[1,"a"]}""", "input")]
    [InlineData("""{"model":"my-embed","input":[1.5]}""", "input")]
    [InlineData("""{"model":"my-embed","input":[-1]}""", "input")]
    [InlineData("""{"model":"my-embed","input":[[1],["a"]]}""", "input")]
    [InlineData("""{"model":"my-embed","input":[[1],2]}""", "input")]
    [InlineData("""{"model":"my-embed","input":[true]}""", "input")]
    [InlineData("""{"model":"my-embed"}""", "input")]
    [InlineData("""{"input":"hi"}""", "model")]
    [InlineData("""{"model":"","input":"hi"}""", "model")]
    [InlineData("""{"model":7,"input":"hi"}""", "model")]
    [InlineData("""{"model":"my embed","input":"hi"}""", "model")]
    [InlineData("""{"model":"my-embed","input":"hi"} trailing""", null)]
    [InlineData("""{"model":"my-embed","input":["hi"]""", null)]
    [InlineData("""["hi"]""", null)]
    [InlineData("""not json""", null)]
    public async Task Invalid_request_is_400_with_param(string body, string? param)
    {
        var response = await PostAsync(EmbeddingsFixture.Token, body);
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Empty(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Body_over_the_limit_is_413()
    {
        var response = await PostAsync(EmbeddingsFixture.Token, "{\"model\":\"my-embed\",\"input\":\"" + new string('x', 70_000) + "\"}");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        Assert.Empty(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Body_without_a_content_type_is_read_as_json()
    {
        // As OpenAI takes it: describing the body in OpenAPI must not make routing demand the header.
        var response = await _f.Roxy.SendAsync(HttpMethod.Post, "v1/embeddings", EmbeddingsFixture.Token, configure: r =>
            r.Content = new ByteArrayContent("""{"model":"my-embed","input":"no header"}"""u8.ToArray()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Missing_token_is_401()
    {
        var response = await PostAsync("not-a-roxy-token", """{"model":"my-embed","input":"hi"}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Empty(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Unlisted_model_is_404_when_the_tenant_allows_only_its_rules()
    {
        var token = EmbeddingsFixture.TokenOf("strict");
        var unlisted = await PostAsync(token, """{"model":"text-embedding-3-large","input":"hi"}""");
        var error = await ChatCompletionsTests.ErrorAsync(unlisted);
        var listed = await PostAsync(token, """{"model":"embed","input":"hi"}""");

        Assert.Equal(HttpStatusCode.NotFound, unlisted.StatusCode);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Contains("\"model\":\"text-embedding-3-small\"", Assert.Single(_f.Upstream.Requests).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anthropic_target_is_refused_with_a_clear_400()
    {
        // claude-* is inferred to anthropic, whose protocol has no embeddings.
        var response = await PostAsync(EmbeddingsFixture.Token, """{"model":"claude-3-5-haiku-latest","input":"hi"}""");
        var error = await ChatCompletionsTests.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("model_not_supported", error.GetProperty("code").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Contains("'anthropic'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Target_without_embeddings_is_skipped_for_the_next_one()
    {
        var response = await PostAsync(EmbeddingsFixture.Token, """{"model":"claude-first","input":"hi"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("openai", Header(response, "x-roxy-provider"));
        Assert.Single(_f.Upstream.Requests);
    }

    [Fact]
    public async Task Request_log_line_names_the_requested_and_answering_models()
    {
        var response = await PostAsync(EmbeddingsFixture.Token, """{"model":"my-embed","input":"log me"}""");
        var requestId = Header(response, "x-request-id");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Eventually.TrueAsync(() => Task.FromResult(_f.Roxy.Logs.Lines.Any(l => l.Contains(requestId, StringComparison.Ordinal))));
        var line = _f.Roxy.Logs.Lines.Single(l => l.Contains("request " + requestId, StringComparison.Ordinal));
        Assert.Contains("model=my-embed answered_by=text-embedding-3-small provider=openai", line, StringComparison.Ordinal);
        Assert.DoesNotContain("log me", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Route_is_described_in_the_openapi_document()
    {
        var response = await _f.Roxy.SendAsync(HttpMethod.Get, "openapi/v1.json", token: null);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var post = document.RootElement.GetProperty("paths").GetProperty("/v1/embeddings").GetProperty("post");
        Assert.Equal("CreateEmbedding", post.GetProperty("operationId").GetString());
        var schema = Resolve(document.RootElement, post.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
        Assert.Equal(["dimensions", "encoding_format", "input", "model", "user"], schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["input", "model"], schema.GetProperty("required").EnumerateArray().Select(r => r.GetString()).Order(StringComparer.Ordinal));
        Assert.True(post.GetProperty("responses").TryGetProperty("400", out _));

        // Chat completions is described the same way, with OpenAI's field names.
        var chat = document.RootElement.GetProperty("paths").GetProperty("/v1/chat/completions").GetProperty("post");
        var chatSchema = Resolve(document.RootElement, chat.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
        Assert.True(chatSchema.GetProperty("properties").TryGetProperty("stream_options", out _));
    }

    private static JsonElement Resolve(JsonElement root, JsonElement schema)
    {
        if (!schema.TryGetProperty("$ref", out var reference))
        {
            return schema;
        }

        var name = reference.GetString()!.Split('/')[^1];
        return root.GetProperty("components").GetProperty("schemas").GetProperty(name);
    }

    private static long Estimate(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        Assert.Null(EmbeddingsRequestReader.TryRead(body, out var info));
        return TokenEstimator.EstimateEmbeddings(body, info, null);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";
}
