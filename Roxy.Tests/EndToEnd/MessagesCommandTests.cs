using System.Net;
using System.Text.Json.Nodes;
using Anthropic.Models.Messages;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// <c>#roxy</c> commands typed into an Anthropic client: answered by Roxy as a message from model <c>roxy</c>, never
/// forwarded, and stripped from later turns' history (with what they carried, such as a secret) before any upstream.
/// </summary>
[Collection(MessagesGroup.Name)]
public sealed class MessagesCommandTests
{
    private readonly MessagesFixture _f;

    public MessagesCommandTests(MessagesFixture fixture)
    {
        _f = fixture;
        _f.Reset();
    }

    private static string Text(Message message) =>
        string.Concat(message.Content.Select(b => b.Value).OfType<TextBlock>().Select(t => t.Text));

    [Fact]
    public async Task A_command_followed_by_claude_codes_system_turn_is_answered_and_never_forwarded()
    {
        const string body = """
            {"model":"claude-passthrough","max_tokens":64,"stream":true,"messages":[
              {"role":"user","content":[{"type":"text","text":"<system-reminder>ctx</system-reminder>"},{"type":"text","text":"#roxy help"}]},
              {"role":"system","content":[{"type":"text","text":"# Environment\ncwd: /repo"}]}]}
            """;
        var response = await _f.PostAsync("v1/messages?beta=true", MessagesFixture.MemberToken, body, r => r.Headers.TryAddWithoutValidation("anthropic-beta", "per-turn-control-2026-07-01"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = MessagesSse.AssertWellOrdered(MessagesSse.Parse(text));
        Assert.Equal("roxy", events[0].Data["message"]!["model"]!.GetValue<string>());
        Assert.Contains("#roxy add key", text, StringComparison.Ordinal);
        Assert.Empty(_f.Anthropic.Requests);
        Assert.Empty(_f.OpenAi.Requests);
    }

    [Fact]
    public async Task Roxy_help_is_answered_from_model_roxy_streaming_and_not()
    {
        var sdk = _f.Sdk(MessagesFixture.MemberToken);
        var ask = new MessageCreateParams { Model = MessagesFixture.PassThrough, MaxTokens = 64, Messages = [new UserMessageParam("  #roxy help")] };

        var message = await sdk.Messages.Create(ask);
        Assert.Equal("roxy", message.Model.Raw());
        Assert.Equal("end_turn", message.StopReason!.Raw());
        var help = Text(message);
        Assert.Contains("#roxy add key <provider> <key>", help, StringComparison.Ordinal);
        Assert.Contains("#roxy audit [N]", help, StringComparison.Ordinal);

        var events = new List<RawMessageStreamEvent>();
        await foreach (var e in sdk.Messages.CreateStreaming(ask))
        {
            events.Add(e);
        }

        Assert.True(Assert.Single(events, e => e.TryPickStart(out _)).TryPickStart(out var start));
        Assert.Equal("roxy", start!.Message.Model.Raw());
        Assert.Equal(help, string.Concat(events.Select(e => e.TryPickContentBlockDelta(out var d) && d!.Delta.TryPickText(out var t) ? t!.Text : "")));

        var raw = await _f.PostAsync("v1/messages", MessagesFixture.MemberToken,
            """{"model":"claude-on-gpt","max_tokens":64,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"#roxy help"}]}]}""");
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal("text/event-stream", raw.Content.Headers.ContentType?.MediaType);
        var blocks = MessagesSse.Blocks(MessagesSse.AssertWellOrdered(MessagesSse.Parse(await raw.Content.ReadAsStringAsync())));
        Assert.Equal(help, Assert.Single(blocks).Content);

        Assert.Empty(_f.Anthropic.Requests);
        Assert.Empty(_f.OpenAi.Requests);
    }

    [Theory]
    [InlineData("secret-a", "anthropic", MessagesFixture.PassThrough)]
    [InlineData("secret-o", "openai", MessagesFixture.Translated)]
    public async Task Secret_added_through_messages_never_reaches_an_upstream_in_a_later_turn(string tenant, string provider, string model)
    {
        var secret = $"sk-{(provider == "anthropic" ? "ant-" : "")}added-{tenant}-0123456789abcdef";
        var command = $"#roxy add key {provider} {secret} rpm=100";
        var sdk = _f.Sdk(MessagesFixture.TokenOf(tenant));
        var added = await sdk.Messages.Create(new MessageCreateParams { Model = model, MaxTokens = 64, Messages = [new UserMessageParam(command)] });
        Assert.Equal("roxy", added.Model.Raw());
        var answer = Text(added);
        Assert.Contains("Added key `k-", answer, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, answer, StringComparison.Ordinal);

        // The conversation goes on with the commands in its history, one of them in Claude Code's shape (a
        // system-reminder block before the typed text).
        var body = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = 64,
            ["system"] = "You are helpful.",
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = command },
                new JsonObject { ["role"] = "assistant", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = answer }) },
                new JsonObject
                {
                    ["role"] = "user",
                    ["content"] = new JsonArray(
                        new JsonObject { ["type"] = "text", ["text"] = "<system-reminder>The user is in /src.</system-reminder>" },
                        new JsonObject { ["type"] = "text", ["text"] = "#roxy list keys" }),
                },
                new JsonObject { ["role"] = "assistant", ["content"] = "| id | provider | mask |" },
                new JsonObject { ["role"] = "user", ["content"] = "And now a real question." }),
        };
        var response = await _f.PostAsync("v1/messages", MessagesFixture.TokenOf(tenant), body.ToJsonString());
        var reply = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, reply);
        Assert.Equal("Hello from the fake upstream", JsonNode.Parse(reply)!["content"]![0]!["text"]!.GetValue<string>());

        var upstream = Assert.Single(_f.Anthropic.Requests.Concat(_f.OpenAi.Requests));
        Assert.DoesNotContain(secret, upstream.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("#roxy", upstream.Body, StringComparison.Ordinal);
        var turns = JsonNode.Parse(upstream.Body)!["messages"]!.AsArray().Where(m => m!["role"]!.GetValue<string>() != "system").ToList();
        var content = Assert.Single(turns)!["content"]!;
        // A string, or (translated) the same text as content parts.
        var text = content is JsonValue ? content.GetValue<string>() : string.Concat(content.AsArray().Select(p => p!["text"]!.GetValue<string>()));
        Assert.Equal("And now a real question.", text);
        Assert.DoesNotContain(_f.Roxy.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
    }
}
