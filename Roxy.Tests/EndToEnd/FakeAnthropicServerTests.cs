using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Roxy.FakeUpstream;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The fake Anthropic upstream is only worth its tests if it refuses what the real API refuses and streams what the
/// real API streams: both, spoken to directly over HTTP.
/// </summary>
public sealed class FakeAnthropicServerTests : IAsyncLifetime
{
    private const string Valid = """{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""";
    private static readonly HttpClient Http = new();
    private FakeAnthropicServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeAnthropicServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> PostAsync(
        string body, string? key = "sk-ant-test", string? version = "2023-06-01")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_server.BaseUrl + "/messages"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key);
        }

        if (version is not null)
        {
            request.Headers.Add("anthropic-version", version);
        }

        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonNode.Parse(text)! : JsonValue.Create(text), response);
    }

    [Fact]
    public async Task A_valid_request_gets_a_message()
    {
        var (status, body, _) = await PostAsync(Valid);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("message", body["type"]!.GetValue<string>());
        Assert.Equal("Hello from the fake upstream", body["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("end_turn", body["stop_reason"]!.GetValue<string>());
        Assert.Equal(5, body["usage"]!["output_tokens"]!.GetValue<int>());
        Assert.Equal("sk-ant-test", Assert.Single(_server.Requests).ApiKey);
    }

    [Theory]
    [InlineData("system role in messages", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"hi"},{"role":"system","content":"x"}]}""", "messages.1.role: Input should be 'user' or 'assistant'")]
    [InlineData("two user turns", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}""", "roles must alternate")]
    [InlineData("assistant first", """{"model":"m","max_tokens":9,"messages":[{"role":"assistant","content":"a"},{"role":"user","content":"b"}]}""", "first message must use the \"user\" role")]
    [InlineData("empty text block", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":[{"type":"text","text":" "}]}]}""", "text content blocks must contain non-whitespace text")]
    [InlineData("empty string content", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":""}]}""", "non-whitespace text")]
    [InlineData("bad tool id", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"call.1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"call.1","content":"r"}]}]}""", "tool_use.id: String should match pattern")]
    [InlineData("image_url part", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}""", "Input tag 'image_url'")]
    [InlineData("data URL as base64 data", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"data:image/png;base64,AAAA"}}]}]}""", "not valid base64")]
    [InlineData("http image url", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"http://x/y.png"}}]}]}""", "Only HTTPS URLs")]
    [InlineData("OpenAI-style tool", """{"model":"m","max_tokens":9,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"messages":[{"role":"user","content":"a"}]}""", "tools.0: Input tag 'function'")]
    [InlineData("parameters instead of input_schema", """{"model":"m","max_tokens":9,"tools":[{"name":"f","parameters":{"type":"object"}}],"messages":[{"role":"user","content":"a"}]}""", "tools.0.custom.parameters: Extra inputs are not permitted")]
    [InlineData("orphan tool_result", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"r"}]}]}""", "unexpected `tool_use_id` found in `tool_result` blocks: toolu_1")]
    [InlineData("tool_use without its result", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":"c"}]}""", "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1")]
    [InlineData("tool_result after text", """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":[{"type":"text","text":"c"},{"type":"tool_result","tool_use_id":"toolu_1","content":"r"}]}]}""", "must come first")]
    [InlineData("missing max_tokens", """{"model":"m","messages":[{"role":"user","content":"a"}]}""", "max_tokens: Field required")]
    [InlineData("temperature over 1", """{"model":"m","max_tokens":9,"temperature":1.5,"messages":[{"role":"user","content":"a"}]}""", "temperature: Input should be less than or equal to 1")]
    [InlineData("unknown field", """{"model":"m","max_tokens":9,"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"a"}]}""", "response_format: Extra inputs are not permitted")]
    [InlineData("OpenAI tool_choice", """{"model":"m","max_tokens":9,"tool_choice":"auto","messages":[{"role":"user","content":"a"}]}""", "tool_choice: Input should be a valid dictionary")]
    [InlineData("message name", """{"model":"m","max_tokens":9,"messages":[{"role":"user","name":"bob","content":"a"}]}""", "messages.0.name: Extra inputs are not permitted")]
    [InlineData("blank stop sequence", """{"model":"m","max_tokens":9,"stop_sequences":["\n"],"messages":[{"role":"user","content":"a"}]}""", "each stop sequence must contain non-whitespace")]
    [InlineData("not JSON", """{"model":""", "error parsing the body")]
    public async Task Invalid_requests_are_400_in_anthropics_shape(string why, string body, string message)
    {
        var (status, error, _) = await PostAsync(body);

        Assert.True(status == HttpStatusCode.BadRequest, why);
        Assert.Equal("error", error["type"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["error"]!["type"]!.GetValue<string>());
        Assert.Contains(message, error["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_key_is_401_and_missing_version_is_400()
    {
        var (noKey, keyError, _) = await PostAsync(Valid, key: null);
        var (noVersion, versionError, _) = await PostAsync(Valid, version: null);

        Assert.Equal(HttpStatusCode.Unauthorized, noKey);
        Assert.Equal("authentication_error", keyError["error"]!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, noVersion);
        Assert.Equal("anthropic-version: header is required", versionError["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_stream_is_the_real_event_sequence_with_cumulative_output_tokens()
    {
        var body = Valid.Replace("\"max_tokens\":64", "\"max_tokens\":64,\"stream\":true", StringComparison.Ordinal)
            .Replace("claude-sonnet-4-5", FakeAnthropicServer.ModelFor(AnthropicScenario.ParallelTools), StringComparison.Ordinal);
        var (status, text, response) = await PostAsync(body);
        var events = Events(text.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("message_start", events[0].Name);
        Assert.Equal("message_stop", events[^1].Name);
        Assert.Equal("message_delta", events[^2].Name);
        Assert.Contains(events, e => e.Name == "ping");
        Assert.All(events, e => Assert.Equal(e.Name, e.Data["type"]!.GetValue<string>()));
        var tools = events.Where(e => e.Name == "content_block_start" && e.Data["content_block"]!["type"]!.GetValue<string>() == "tool_use").ToList();
        Assert.Equal([1, 2], tools.Select(e => e.Data["index"]!.GetValue<int>()));
        var arguments = string.Concat(events.Where(e => e.Name == "content_block_delta" && e.Data["index"]!.GetValue<int>() == 1)
            .Select(e => e.Data["delta"]!["partial_json"]!.GetValue<string>()));
        Assert.Equal("Paris", JsonNode.Parse(arguments)!["city"]!.GetValue<string>());
        var deltas = events.Count(e => e.Name == "content_block_delta");
        // message_start counts 1 output token; message_delta reports the total, not the increment.
        Assert.Equal(1, events[0].Data["message"]!["usage"]!["output_tokens"]!.GetValue<int>());
        Assert.Equal(deltas + 2, events[^2].Data["usage"]!["output_tokens"]!.GetValue<int>());
        Assert.Equal("tool_use", events[^2].Data["delta"]!["stop_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Error_mid_stream_comes_after_content_and_ends_the_stream()
    {
        var body = Valid.Replace("\"max_tokens\":64", "\"max_tokens\":64,\"stream\":true", StringComparison.Ordinal)
            .Replace("claude-sonnet-4-5", FakeAnthropicServer.ModelFor(AnthropicScenario.ErrorMidStream), StringComparison.Ordinal);
        var events = Events((await PostAsync(body)).Body.GetValue<string>());

        Assert.Contains(events, e => e.Name == "content_block_delta");
        Assert.Equal("error", events[^1].Name);
        Assert.Equal("overloaded_error", events[^1].Data["error"]!["type"]!.GetValue<string>());
        Assert.DoesNotContain(events, e => e.Name == "message_stop");
    }

    [Fact]
    public async Task Scenarios_can_be_picked_by_header_and_scripted_per_key()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_server.BaseUrl + "/messages")) { Content = new StringContent(Valid, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", "sk-ant-a");
        request.Headers.Add("anthropic-version", "2023-06-01");
        request.Headers.Add(FakeAnthropicServer.ScenarioHeader, "rate-limited");
        var limited = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("7", limited.Headers.GetValues("retry-after").Single());
        Assert.Equal("0", limited.Headers.GetValues("anthropic-ratelimit-requests-remaining").Single());

        _server.SetKeyBehavior("sk-ant-b", FakeResponse.Error(529, "overloaded_error", null, "Overloaded"));
        var (status, error, _) = await PostAsync(Valid, key: "sk-ant-b");
        Assert.Equal((HttpStatusCode)529, status);
        Assert.Equal("overloaded_error", error["error"]!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Valid, key: "sk-ant-c")).Status);
    }

    [Fact]
    public async Task Models_are_listed_for_a_key()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_server.BaseUrl + "/models"));
        request.Headers.Add("x-api-key", "sk-ant-a");
        request.Headers.Add("anthropic-version", "2023-06-01");
        var response = await Http.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(body["data"]!.AsArray(), m => m!["id"]!.GetValue<string>() == FakeAnthropicServer.ModelFor(AnthropicScenario.ToolNoArgs));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.GetAsync(new Uri(_server.BaseUrl + "/models"))).StatusCode);
    }

    private static List<(string Name, JsonNode Data)> Events(string sse) =>
        sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split('\n'))
            .Select(lines => (lines.Single(l => l.StartsWith("event: ", StringComparison.Ordinal))[7..],
                JsonNode.Parse(lines.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))[6..])!))
            .ToList();
}
