using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The request log line (SPEC §9) as <c>logging.format: json</c> prints it: one JSON object per request whose
/// <c>State</c> carries every field by name, with the values the response and the price table say it must have.
/// </summary>
public sealed class RequestLogTests(RequestLogFixture f) : IClassFixture<RequestLogFixture>
{
    private const string Category = "Roxy.Api.Observability.RequestObserver";

    private static readonly string[] Fields =
    [
        "RequestId", "Protocol", "Tenant", "TokenId", "RequestedModel", "AnsweringModel", "Provider", "KeyId", "Status",
        "ErrorCode", "LatencyMs", "FirstByteMs", "PromptTokens", "CompletionTokens", "CachedTokens", "CostUsd", "Cache",
        "Attempts", "WaitedMs", "Stream",
    ];

    private static readonly string[] RefusedFields = ["RequestId", "Protocol", "Tenant", "TokenId", "Status", "ErrorCode"];

    // Token ids are "t-" and the first 10 hex digits of the token's SHA-256 (never the token).
    private static readonly string TokenId = "t-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(RequestLogFixture.Token)))[..10];

    [Fact]
    public async Task Json_line_of_a_chat_completion_has_every_field_with_its_value()
    {
        Assert.Equal("json", f.Console.FormatterName);
        var result = await f.Roxy.Chat("smart", RequestLogFixture.Token).CompleteChatAsync([new UserChatMessage("a prompt for the json line")]);
        var raw = result.GetRawResponse();
        var usage = result.Value.Usage;
        var requestId = Header(raw, "x-request-id");

        var (root, state) = await LineAsync(requestId);

        Assert.Equal(1000, root.GetProperty("EventId").GetInt32());
        Assert.Equal("Information", root.GetProperty("LogLevel").GetString());
        Assert.Equal(Category, root.GetProperty("Category").GetString());
        var timestamp = root.GetProperty("Timestamp").GetString()!;
        Assert.EndsWith("Z", timestamp, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.Zero, DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture).Offset);
        Assert.Equal(Fields.Order(StringComparer.Ordinal), Names(state));

        Assert.Equal(requestId, state.GetProperty("RequestId").GetString());
        Assert.Equal("openai-chat", state.GetProperty("Protocol").GetString());
        Assert.Equal("default", state.GetProperty("Tenant").GetString());
        Assert.Equal(TokenId, state.GetProperty("TokenId").GetString());
        Assert.Equal("smart", state.GetProperty("RequestedModel").GetString());
        Assert.Equal(Header(raw, "x-roxy-model"), state.GetProperty("AnsweringModel").GetString());
        Assert.Equal(Header(raw, "x-roxy-provider"), state.GetProperty("Provider").GetString());
        Assert.Equal(Header(raw, "x-roxy-key"), state.GetProperty("KeyId").GetString());
        Assert.Equal(200, state.GetProperty("Status").GetInt32());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("ErrorCode").ValueKind);
        Assert.Equal(usage.InputTokenCount, state.GetProperty("PromptTokens").GetInt64());
        Assert.Equal(usage.OutputTokenCount, state.GetProperty("CompletionTokens").GetInt64());
        var cached = usage.InputTokenDetails?.CachedTokenCount ?? 0;
        Assert.Equal(cached, state.GetProperty("CachedTokens").GetInt64());
        var price = BudgetFixture.PriceIn(f.Roxy);
        Assert.Equal(price.Cost(usage.InputTokenCount, usage.OutputTokenCount, cached), state.GetProperty("CostUsd").GetDecimal());
        Assert.Equal(Header(raw, "x-roxy-cache"), state.GetProperty("Cache").GetString());
        Assert.Equal(1, state.GetProperty("Attempts").GetInt32());
        Assert.Equal(0, state.GetProperty("WaitedMs").GetDouble());
        Assert.False(state.GetProperty("Stream").GetBoolean());
        var latency = state.GetProperty("LatencyMs").GetDouble();
        var firstByte = state.GetProperty("FirstByteMs").GetDouble();
        Assert.InRange(firstByte, 0, latency);
        Assert.DoesNotContain("a prompt for the json line", string.Join("\n", f.Console.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_line_names_the_anthropic_protocol_and_a_streamed_answer()
    {
        using var response = await f.Roxy.SendAsync(HttpMethod.Post, "v1/messages", RequestLogFixture.Token,
            """{"model":"smart","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"stream me"}]}""",
            completion: HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var outputTokens = body.Split('\n')
            .Where(l => l.StartsWith("data: ", StringComparison.Ordinal) && l.Contains("\"message_delta\"", StringComparison.Ordinal))
            .Select(l => JsonNode.Parse(l["data: ".Length..])!["usage"]!["output_tokens"]!.GetValue<long>())
            .Single();

        var (_, state) = await LineAsync(response.Headers.GetValues("request-id").Single());

        Assert.Equal("anthropic-messages", state.GetProperty("Protocol").GetString());
        Assert.True(state.GetProperty("Stream").GetBoolean());
        Assert.Equal(200, state.GetProperty("Status").GetInt32());
        Assert.Equal(outputTokens, state.GetProperty("CompletionTokens").GetInt64());
        Assert.Equal(JsonValueKind.Number, state.GetProperty("FirstByteMs").ValueKind);
    }

    [Fact]
    public async Task Json_line_of_embeddings_names_their_protocol_and_counts_their_input()
    {
        using var response = await f.Roxy.SendAsync(HttpMethod.Post, "v1/embeddings", RequestLogFixture.Token, """{"model":"embed","input":"embed me"}""");
        var usage = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["usage"]!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var (_, state) = await LineAsync(response.Headers.GetValues("x-request-id").Single());

        Assert.Equal("openai-embeddings", state.GetProperty("Protocol").GetString());
        Assert.Equal("text-embedding-3-small", state.GetProperty("AnsweringModel").GetString());
        Assert.Equal(usage["prompt_tokens"]!.GetValue<long>(), state.GetProperty("PromptTokens").GetInt64());
        Assert.False(state.GetProperty("Stream").GetBoolean());
    }

    [Fact]
    public async Task Requests_refused_before_routing_get_a_line_without_a_tenant_when_the_token_is_unknown()
    {
        using var unknown = await f.Roxy.PostChatAsync("not-a-roxy-token-0123456789", """{"model":"smart","messages":[]}""");
        using var anthropic = await f.Roxy.SendAsync(HttpMethod.Post, "v1/messages", "not-a-roxy-token-0123456789", "{}");
        using var badJson = await f.Roxy.SendAsync(HttpMethod.Post, "v1/embeddings", RequestLogFixture.Token, "{not json");

        var (unknownRoot, unknownState) = await LineAsync(unknown.Headers.GetValues("x-request-id").Single());
        var (_, anthropicState) = await LineAsync(anthropic.Headers.GetValues("request-id").Single());
        var (_, badJsonState) = await LineAsync(badJson.Headers.GetValues("x-request-id").Single());

        Assert.Equal(1001, unknownRoot.GetProperty("EventId").GetInt32());
        Assert.Equal(RefusedFields.Order(StringComparer.Ordinal), Names(unknownState));
        Assert.Equal((401, "invalid_api_key", "openai-chat"), Refusal(unknownState));
        Assert.Equal(JsonValueKind.Null, unknownState.GetProperty("Tenant").ValueKind);
        Assert.Equal(JsonValueKind.Null, unknownState.GetProperty("TokenId").ValueKind);
        Assert.Equal((401, "invalid_api_key", "anthropic-messages"), Refusal(anthropicState));
        Assert.Equal(((int)badJson.StatusCode, await ErrorCodeAsync(badJson), "openai-embeddings"), Refusal(badJsonState));
        Assert.Equal("default", badJsonState.GetProperty("Tenant").GetString());
        Assert.Equal(TokenId, badJsonState.GetProperty("TokenId").GetString());
        Assert.DoesNotContain("not-a-roxy-token", string.Join("\n", f.Console.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_routed_request_Roxy_refuses_logs_its_error_code_and_no_answering_model()
    {
        using var response = await f.Roxy.PostChatAsync(RequestLogFixture.Token, """{"model":"unlisted-model","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);

        var (root, state) = await LineAsync(response.Headers.GetValues("x-request-id").Single());

        Assert.Equal(1000, root.GetProperty("EventId").GetInt32());
        Assert.Equal(404, state.GetProperty("Status").GetInt32());
        Assert.Equal(await ErrorCodeAsync(response), state.GetProperty("ErrorCode").GetString());
        Assert.Equal("unlisted-model", state.GetProperty("RequestedModel").GetString());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("AnsweringModel").ValueKind);
        Assert.Equal(JsonValueKind.Null, state.GetProperty("KeyId").ValueKind);
        Assert.Equal(0, state.GetProperty("Attempts").GetInt32());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("FirstByteMs").ValueKind);
    }

    // The line is written once the response is out, so the client may see the answer first.
    private async Task<(JsonElement Root, JsonElement State)> LineAsync(string requestId)
    {
        string[] lines = [];
        await Eventually.TrueAsync(
            () => Task.FromResult((lines = Lines(requestId)).Length > 0), because: $"no log line for request {requestId}");
        var line = Assert.Single(lines);
        Assert.Equal(line.TrimEnd('\r', '\n'), line.TrimEnd('\r', '\n').ReplaceLineEndings(""));
        var root = JsonDocument.Parse(line).RootElement;
        return (root, root.GetProperty("State"));
    }

    // The request's lines from the request log's category (a command's line is another category).
    private string[] Lines(string requestId) => f.Console.Lines
        .Where(l => l.Contains(Category, StringComparison.Ordinal) && l.Contains($"\"RequestId\":\"{requestId}\"", StringComparison.Ordinal))
        .ToArray();

    private static string[] Names(JsonElement state) => state.EnumerateObject()
        .Select(p => p.Name)
        .Where(n => n is not ("Message" or "{OriginalFormat}"))
        .Order(StringComparer.Ordinal)
        .ToArray();

    private static (int, string?, string?) Refusal(JsonElement state) =>
        (state.GetProperty("Status").GetInt32(), state.GetProperty("ErrorCode").GetString(), state.GetProperty("Protocol").GetString());

    private static async Task<string?> ErrorCodeAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]?.GetValue<string>();

    private static string Header(System.ClientModel.Primitives.PipelineResponse response, string name) =>
        response.Headers.TryGetValue(name, out var value) ? value! : throw new Xunit.Sdk.XunitException($"no {name} header");
}
