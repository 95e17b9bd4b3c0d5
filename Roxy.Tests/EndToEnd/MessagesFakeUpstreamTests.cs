using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using Roxy.FakeUpstream;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The fakes the Anthropic-inbound tests stand on, spoken to directly: the OpenAI fake's scenarios read by the official
/// OpenAI SDK (so they are what OpenAI sends), and both fakes refusing what their real API refuses while accepting
/// what real clients pass through.
/// </summary>
public sealed class MessagesFakeUpstreamTests : IAsyncLifetime
{
    private static readonly HttpClient Http = new();
    private static readonly ChatTool Weather = ChatTool.CreateFunctionTool(
        "get_weather", "The weather in a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}"""));

    private FakeOpenAiServer _openAi = null!;
    private FakeAnthropicServer _anthropic = null!;

    public async Task InitializeAsync()
    {
        _openAi = await FakeOpenAiServer.StartAsync();
        _anthropic = await FakeAnthropicServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _anthropic.DisposeAsync();
        await _openAi.DisposeAsync();
    }

    private ChatClient OpenAiSdk(OpenAiScenario scenario) =>
        new(FakeOpenAiServer.ModelFor(scenario), new ApiKeyCredential("sk-fake"), new OpenAIClientOptions { Endpoint = _openAi.BaseUrl });

    private static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PostAsync(Uri url, string json, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        configure?.Invoke(request);
        var response = await Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PostOpenAiAsync(string json) =>
        PostAsync(new Uri(_openAi.BaseUrl + "/chat/completions"), json, r => r.Headers.Add("Authorization", "Bearer sk-fake"));

    private Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PostAnthropicAsync(string json, string? beta = null) =>
        PostAsync(new Uri(_anthropic.BaseUrl + "/messages"), json, r =>
        {
            r.Headers.Add("x-api-key", "sk-ant-fake");
            r.Headers.Add("anthropic-version", "2023-06-01");
            if (beta is not null)
            {
                r.Headers.Add("anthropic-beta", beta);
            }
        });

    [Fact]
    public async Task OpenAi_fake_streams_text_then_a_tool_call_as_the_sdk_reads_it()
    {
        var text = new StringBuilder();
        var calls = new SortedDictionary<int, (string? Id, string? Name, string Arguments)>();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in OpenAiSdk(OpenAiScenario.TextThenTool).CompleteChatStreamingAsync([new UserChatMessage("Weather?")], new ChatCompletionOptions { Tools = { Weather } }))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            foreach (var call in update.ToolCallUpdates)
            {
                var (id, name, arguments) = calls.GetValueOrDefault(call.Index, (null, null, ""));
                calls[call.Index] = (id ?? call.ToolCallId, name ?? call.FunctionName, arguments + call.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("Let me look that up.", text.ToString());
        var (callId, callName, callArguments) = Assert.Single(calls).Value;
        Assert.Equal("get_weather", callName);
        Assert.StartsWith("call_weather", callId, StringComparison.Ordinal);
        Assert.Equal("Paris", JsonNode.Parse(callArguments)!["city"]!.GetValue<string>());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.NotNull(usage);
    }

    [Theory]
    [InlineData(OpenAiScenario.ParallelTools)]
    [InlineData(OpenAiScenario.InterleavedTools)]
    public async Task OpenAi_fake_streams_two_calls_apart_by_index(OpenAiScenario scenario)
    {
        var calls = new SortedDictionary<int, (string? Name, string Arguments)>();
        await foreach (var update in OpenAiSdk(scenario).CompleteChatStreamingAsync([new UserChatMessage("Weather and time?")]))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                var (name, arguments) = calls.GetValueOrDefault(call.Index, (null, ""));
                calls[call.Index] = (name ?? call.FunctionName, arguments + call.FunctionArgumentsUpdate?.ToString());
            }
        }

        Assert.Equal(["get_weather", "get_time"], calls.Values.Select(c => c.Name));
        Assert.Equal("Paris", JsonNode.Parse(calls[0].Arguments)!["city"]!.GetValue<string>());
        Assert.Equal("Europe/Paris", JsonNode.Parse(calls[1].Arguments)!["timezone"]!.GetValue<string>());
    }

    [Fact]
    public async Task OpenAi_fake_answers_scenarios_without_streaming()
    {
        ChatCompletion cached = await OpenAiSdk(OpenAiScenario.Cached).CompleteChatAsync([new UserChatMessage("hi")]);
        Assert.Equal(1500, cached.Usage.InputTokenCount);
        Assert.Equal(1280, cached.Usage.InputTokenDetails.CachedTokenCount);

        ChatCompletion length = await OpenAiSdk(OpenAiScenario.Length).CompleteChatAsync([new UserChatMessage("hi")]);
        Assert.Equal(ChatFinishReason.Length, length.FinishReason);

        ChatCompletion noArgs = await OpenAiSdk(OpenAiScenario.ToolNoArgs).CompleteChatAsync([new UserChatMessage("status?")]);
        var call = Assert.Single(noArgs.ToolCalls);
        Assert.Equal("get_status", call.FunctionName);
        Assert.Equal("", call.FunctionArguments.ToString());

        ChatCompletion stop = await OpenAiSdk(OpenAiScenario.ToolThenStop).CompleteChatAsync([new UserChatMessage("weather?")]);
        Assert.Equal(ChatFinishReason.Stop, stop.FinishReason);
        Assert.Single(stop.ToolCalls);
    }

    [Fact]
    public async Task OpenAi_fake_answers_tool_results_with_text_quoting_them()
    {
        ChatCompletion answer = await OpenAiSdk(OpenAiScenario.ParallelTools).CompleteChatAsync(
        [
            new UserChatMessage("Weather and time?"),
            new AssistantChatMessage(
            [
                ChatToolCall.CreateFunctionToolCall("call_1", "get_weather", BinaryData.FromString("""{"city":"Paris"}""")),
                ChatToolCall.CreateFunctionToolCall("call_2", "get_time", BinaryData.FromString("{}")),
            ]),
            new ToolChatMessage("call_1", "Sunny"),
            new ToolChatMessage("call_2", ChatMessageContentPart.CreateTextPart("14:"), ChatMessageContentPart.CreateTextPart("05")),
        ]);

        Assert.Equal("The tools said: Sunny | 14:05", answer.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
    }

    [Fact]
    public async Task OpenAi_fake_fails_as_scripted_by_scenario()
    {
        var limited = await PostOpenAiAsync($$"""{"model":"{{FakeOpenAiServer.ModelFor(OpenAiScenario.RateLimited)}}","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Status);
        Assert.Equal("7", limited.Response.Headers.GetValues("Retry-After").Single());
        Assert.Equal("rate_limit_exceeded", JsonNode.Parse(limited.Body)!["error"]!["code"]!.GetValue<string>());

        var overloaded = await PostOpenAiAsync($$"""{"model":"{{FakeOpenAiServer.ModelFor(OpenAiScenario.Overloaded)}}","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, overloaded.Status);

        var midStream = await PostOpenAiAsync($$"""{"model":"{{FakeOpenAiServer.ModelFor(OpenAiScenario.ErrorMidStream)}}","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, midStream.Status);
        var data = midStream.Body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).ToList();
        Assert.Equal("server_error", JsonNode.Parse(data[^1])!["error"]!["type"]!.GetValue<string>());
        Assert.Contains(data, d => d.Contains("\"content\":\"Hello\"", StringComparison.Ordinal));
        Assert.DoesNotContain("[DONE]", data);
    }

    [Theory]
    [InlineData("""{"model":"gpt-4o-mini","thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"hi"}]}""", "Unrecognized request argument supplied: thinking")]
    [InlineData("""{"model":"gpt-4o-mini","top_k":5,"messages":[{"role":"user","content":"hi"}]}""", "Unrecognized request argument supplied: top_k")]
    [InlineData("""{"model":"gpt-4o-mini","system":"be nice","messages":[{"role":"user","content":"hi"}]}""", "Unrecognized request argument supplied: system")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"role":"model","content":"hi"}]}""", "Invalid value: 'model'. Supported values are")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_1","content":"r"}]}""", "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_2","content":"r"}]}""", "'tool_call_id' of 'call_2' not found")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"and?"}]}""", "The following tool_call_ids did not have response messages: call_1")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":{"a":1}}}]},{"role":"tool","tool_call_id":"call_1","content":"r"}]}""", "function.arguments': expected a string, but got an object")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}""", "Image URLs are only allowed for messages with role 'user'")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}""", "('cache_control' was unexpected)")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]}""", "Invalid value: 'image'")]
    [InlineData("""{"model":"gpt-4o-mini","tools":[{"name":"f","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}""", "('name' was unexpected) - 'tools.0'")]
    [InlineData("""{"model":"gpt-4o-mini","tool_choice":{"type":"any"},"messages":[{"role":"user","content":"hi"}]}""", "Invalid value: 'any'")]
    [InlineData("""{"model":"gpt-4o-mini","stop":["a","b","c","d","e"],"messages":[{"role":"user","content":"hi"}]}""", "Expected an array with maximum length 4")]
    [InlineData("""{"model":"gpt-4o-mini","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""", "only allowed when 'stream' is enabled")]
    public async Task OpenAi_fake_refuses_what_openai_refuses(string body, string message)
    {
        var (status, text, _) = await PostOpenAiAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Contains(message, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAi_fake_accepts_a_valid_tool_conversation_and_unknown_openai_fields()
    {
        var (status, text, _) = await PostOpenAiAsync("""
            {"model":"gpt-4o-mini","seed":7,"response_format":{"type":"text"},"parallel_tool_calls":false,"tool_choice":"required",
             "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}}],
             "messages":[{"role":"developer","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]},
               {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
               {"role":"tool","tool_call_id":"call_1","content":"done"},{"role":"user","content":"thanks"}]}
            """);

        Assert.True(status == HttpStatusCode.OK, text);
        Assert.Equal("Hello from the fake upstream", JsonNode.Parse(text)!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task Anthropic_fake_accepts_what_clients_pass_through_and_records_headers()
    {
        const string body = """
            {"model":"claude-sonnet-4-5","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":2048},
             "system":[{"type":"text","text":"You are a coding agent.","cache_control":{"type":"ephemeral"}}],
             "tools":[{"name":"read_file","description":"Reads a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}}},"cache_control":{"type":"ephemeral","ttl":"1h"}}],
             "metadata":{"user_id":"user-42"},"output_config":{"effort":"high"},
             "context_management":{"edits":[{"type":"clear_tool_uses_20250919"}]},
             "messages":[{"role":"user","content":[{"type":"text","text":"Read a.txt"},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"notes"}}]},
               {"role":"assistant","content":[{"type":"thinking","thinking":"I should read it.","signature":"sig_abc"},{"type":"tool_use","id":"toolu_1","name":"read_file","input":{"path":"a.txt"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"hello","cache_control":{"type":"ephemeral"}}]}]}
            """;

        var (status, text, _) = await PostAnthropicAsync(body, beta: "context-management-2025-06-27,interleaved-thinking-2025-05-14");

        Assert.True(status == HttpStatusCode.OK, text);
        var last = _anthropic.LastRequest!;
        Assert.Equal(body, last.Body);
        Assert.Equal("2023-06-01", last.Headers["anthropic-version"]);
        Assert.Equal("context-management-2025-06-27,interleaved-thinking-2025-05-14", last.Headers["anthropic-beta"]);
    }

    [Theory]
    [InlineData("""{"model":"m","max_tokens":9,"context_management":{"edits":[]},"messages":[{"role":"user","content":"a"}]}""", null, "context_management: Extra inputs are not permitted")]
    [InlineData("""{"model":"m","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":512},"messages":[{"role":"user","content":"a"}]}""", null, "budget_tokens: Input should be greater than or equal to 1024")]
    [InlineData("""{"model":"m","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"a"}]}""", null, "`max_tokens` must be greater than `thinking.budget_tokens`")]
    [InlineData("""{"model":"m","max_tokens":9,"messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"persistent"}}]}]}""", null, "cache_control.type: Input should be 'ephemeral'")]
    [InlineData("""{"model":"m","max_tokens":9,"system":[{"type":"text","text":"1","cache_control":{"type":"ephemeral"}},{"type":"text","text":"2","cache_control":{"type":"ephemeral"}},{"type":"text","text":"3","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"4","cache_control":{"type":"ephemeral"}},{"type":"text","text":"5","cache_control":{"type":"ephemeral"}}]}]}""", null, "A maximum of 4 blocks with cache_control may be provided. Found 5.")]
    [InlineData("""{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"thinking","thinking":"hm"}]},{"role":"user","content":"b"}]}""", null, "thinking.signature: Field required")]
    public async Task Anthropic_fake_refuses_what_the_real_api_refuses(string body, string? beta, string message)
    {
        var (status, text, _) = await PostAnthropicAsync(body, beta);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = JsonNode.Parse(text)!;
        Assert.Equal("error", error["type"]!.GetValue<string>());
        Assert.Contains(message, error["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anthropic_fake_answers_tool_results_with_text_quoting_them()
    {
        var (status, text, _) = await PostAnthropicAsync($$$"""
            {"model":"{{{FakeAnthropicServer.ModelFor(AnthropicScenario.ParallelTools)}}}","max_tokens":64,"messages":[{"role":"user","content":"weather?"},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"Sunny"}]}]}]}
            """);

        Assert.True(status == HttpStatusCode.OK, text);
        var message = JsonNode.Parse(text)!;
        Assert.Equal("end_turn", message["stop_reason"]!.GetValue<string>());
        Assert.Equal("The tools said: Sunny", message["content"]![0]!["text"]!.GetValue<string>());
    }
}
