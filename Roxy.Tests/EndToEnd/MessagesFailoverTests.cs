using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Anthropic.Models.Messages;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// What happens to an Anthropic client's stream when a provider fails: before content Roxy fails over and the client
/// sees one clean stream (the held message_start of the failed attempt never reaches it); after content, or when a
/// passed-through stream stops short, the client gets Anthropic's error event, never a partial answer that looks whole.
/// </summary>
[Collection(MessagesGroup.Name)]
public sealed class MessagesFailoverTests
{
    private readonly MessagesFixture _f;

    public MessagesFailoverTests(MessagesFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private static string Stream(string model) =>
        $$"""{"model":"{{model}}","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task An_overload_right_after_message_start_fails_over_and_the_client_sees_one_message_start()
    {
        Assert.Equal("claude-fake-overloaded-before-content", FakeAnthropicServer.ModelFor(AnthropicScenario.OverloadedBeforeContent));

        var response = await _f.PostAsync("v1/messages", MessagesFixture.TokenOf("failover"), Stream(MessagesFixture.OverloadThenOpenAi));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("openai", response.Headers.GetValues("x-roxy-provider").Single());

        var events = MessagesSse.AssertWellOrdered(MessagesSse.Parse(text));
        // The Anthropic attempt's own message_start was held back, then dropped with the attempt: this one is Roxy's.
        Assert.Equal(MessagesFixture.TranslatedTarget, events[0].Data["message"]!["model"]!.GetValue<string>());
        Assert.DoesNotContain(events, e => e.Name == "error");
        Assert.Contains("Hello", string.Concat(events.Where(e => e.Name == "content_block_delta").Select(e => e.Data["delta"]!["text"]?.GetValue<string>())), StringComparison.Ordinal);
        Assert.Single(_f.Anthropic.Requests);
        Assert.Single(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task A_passed_through_stream_that_stops_before_message_stop_ends_with_an_error_event()
    {
        var response = await _f.PostAsync("v1/messages", MessagesFixture.AdminToken, Stream(MessagesFixture.Scenario(AnthropicScenario.TruncatedStream)));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var events = MessagesSse.Parse(text);
        Assert.Equal("message_start", events[0].Name);
        Assert.Single(events, e => e.Name == "message_start");
        Assert.Contains(events, e => e.Name == "content_block_delta");
        Assert.DoesNotContain(events, e => e.Name == "message_stop");
        Assert.Equal("error", events[^1].Name);
        Assert.Equal("api_error", events[^1].Data["error"]!["type"]!.GetValue<string>());

        // And the SDK raises rather than hand back the partial text as a finished message.
        var thrown = await Record.ExceptionAsync(async () =>
        {
            await foreach (var e in _f.Sdk().Messages.CreateStreaming(new MessageCreateParams
            {
                Model = MessagesFixture.Scenario(AnthropicScenario.TruncatedStream),
                MaxTokens = 64,
                Messages = [new UserMessageParam("hi")],
            }))
            {
                Assert.False(e.TryPickStop(out _), "message_stop after a truncated stream");
            }
        });
        Assert.IsAssignableFrom<Anthropic.Exceptions.AnthropicException>(thrown);
    }

    [Fact]
    public async Task A_translated_stream_that_finished_but_sent_no_done_marker_is_a_whole_answer()
    {
        // Some OpenAI-compatible servers end after the finish and usage chunks without [DONE].
        var response = await _f.PostAsync("v1/messages", MessagesFixture.AdminToken, Stream(MessagesFixture.Scenario(OpenAiScenario.NoDone)));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var events = MessagesSse.AssertWellOrdered(MessagesSse.Parse(text));
        Assert.Equal("end_turn", events[^2].Data["delta"]!["stop_reason"]!.GetValue<string>());
        Assert.DoesNotContain(events, e => e.Name == "error");
    }

    [Theory]
    [InlineData("GET", "v1/messages", HttpStatusCode.MethodNotAllowed)]
    [InlineData("POST", "v1/messages/batches", HttpStatusCode.NotFound)]
    public async Task Messages_paths_Roxy_does_not_serve_answer_in_anthropics_shape(string method, string path, HttpStatusCode status)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(_f.Roxy.BaseUrl, path));
        request.Headers.TryAddWithoutValidation("x-api-key", MessagesFixture.AdminToken);
        if (method == "POST")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        Assert.Equal(status, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("error", body["type"]!.GetValue<string>());
        Assert.Equal(status == HttpStatusCode.NotFound ? "not_found_error" : "invalid_request_error", body["error"]!["type"]!.GetValue<string>());
    }
}
