using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Roxy.Tests.Unit.Inbound.Anthropic;

/// <summary>
/// Reads an Anthropic SSE stream back the way its SDKs accumulate one, and fails on any break of the protocol's
/// ordering rules: one <c>message_start</c>, first; blocks opened one at a time with indices 0, 1, 2…; every delta
/// for the open block and of its type; every start stopped; <c>message_delta</c> after the last block, then
/// <c>message_stop</c>, last; or an <c>error</c>, after which nothing comes. Tool inputs must be JSON objects.
/// </summary>
internal static class AnthropicStreamEncoderRules
{
    public sealed record Block(string Type, string? Id, string? Name, string Text, JsonObject? Input);

    public sealed record Parsed(
        IReadOnlyList<string> Names,
        JsonObject Message,
        IReadOnlyList<Block> Blocks,
        string? StopReason,
        JsonObject? Usage,
        JsonObject? Error)
    {
        public string Text => string.Concat(Blocks.Where(b => b.Type == "text").Select(b => b.Text));

        public IReadOnlyList<Block> Tools => Blocks.Where(b => b.Type == "tool_use").ToList();
    }

    public static Parsed Check(string sse)
    {
        Assert.EndsWith("\n\n", sse);
        var names = new List<string>();
        JsonObject? message = null;
        var blocks = new List<(string Type, string? Id, string? Name, StringBuilder Text)>();
        var open = -1;
        string? stopReason = null;
        JsonObject? usage = null;
        JsonObject? error = null;
        var sawDelta = false;
        var sawStop = false;
        foreach (var raw in sse[..^2].Split("\n\n"))
        {
            Assert.False(sawStop || error is not null, $"an event after the stream's end: {raw}");
            var lines = raw.Split('\n');
            Assert.Equal(2, lines.Length);
            Assert.StartsWith("event: ", lines[0]);
            Assert.StartsWith("data: ", lines[1]);
            var name = lines[0]["event: ".Length..];
            var data = JsonNode.Parse(lines[1]["data: ".Length..])!.AsObject();
            Assert.Equal(name, (string?)data["type"]);
            names.Add(name);
            if (name == "ping")
            {
                continue;
            }

            if (name == "error")
            {
                error = data["error"]!.AsObject();
                Assert.False(string.IsNullOrEmpty((string?)error["type"]));
                Assert.False(string.IsNullOrEmpty((string?)error["message"]));
                continue;
            }

            if (name == "message_start")
            {
                Assert.Null(message);
                Assert.Empty(names.Where(n => n != "ping").SkipLast(1));
                message = data["message"]!.AsObject();
                Assert.Equal("message", (string?)message["type"]);
                Assert.Equal("assistant", (string?)message["role"]);
                Assert.StartsWith("msg_", (string?)message["id"]);
                Assert.Empty(message["content"]!.AsArray());
                Assert.Null(message["stop_reason"]);
                Assert.True(message.ContainsKey("stop_sequence"));
                Assert.True((long)message["usage"]!["input_tokens"]! >= 0);
                Assert.Equal(0, (long)message["usage"]!["output_tokens"]!);
                continue;
            }

            Assert.True(message is not null, $"{name} before message_start");
            var index = data["index"] is { } i ? (int)i : -1;
            switch (name)
            {
                case "content_block_start":
                    Assert.False(sawDelta, "a block after message_delta");
                    Assert.True(open < 0, $"block {index} opened while block {open} is open");
                    Assert.Equal(blocks.Count, index);
                    var block = data["content_block"]!.AsObject();
                    var type = (string)block["type"]!;
                    if (type == "text")
                    {
                        Assert.Equal("", (string?)block["text"]);
                        blocks.Add((type, null, null, new StringBuilder()));
                    }
                    else
                    {
                        Assert.Equal("tool_use", type);
                        Assert.Empty(block["input"]!.AsObject());
                        var id = (string)block["id"]!;
                        Assert.Matches("^[a-zA-Z0-9_-]{1,64}$", id);
                        Assert.DoesNotContain(blocks, b => b.Id == id);
                        blocks.Add((type, id, (string?)block["name"], new StringBuilder()));
                    }

                    open = index;
                    break;
                case "content_block_delta":
                    Assert.Equal(open, index);
                    var delta = data["delta"]!.AsObject();
                    var deltaType = (string)delta["type"]!;
                    Assert.Equal(blocks[index].Type == "text" ? "text_delta" : "input_json_delta", deltaType);
                    blocks[index].Text.Append((string)delta[deltaType == "text_delta" ? "text" : "partial_json"]!);
                    break;
                case "content_block_stop":
                    Assert.Equal(open, index);
                    open = -1;
                    break;
                case "message_delta":
                    Assert.False(sawDelta, "two message_delta events");
                    Assert.True(open < 0, $"message_delta while block {open} is open");
                    sawDelta = true;
                    stopReason = (string?)data["delta"]!["stop_reason"];
                    Assert.Contains(stopReason, new[] { "end_turn", "max_tokens", "tool_use", "refusal", "stop_sequence", "pause_turn" });
                    Assert.True(data["delta"]!.AsObject().ContainsKey("stop_sequence"));
                    usage = data["usage"]!.AsObject();
                    break;
                case "message_stop":
                    Assert.True(sawDelta, "message_stop without message_delta");
                    sawStop = true;
                    break;
                default:
                    Assert.Fail($"unknown event {name}");
                    break;
            }
        }

        Assert.True(sawStop || error is not null, "the stream ends with neither message_stop nor error");
        Assert.NotNull(message);
        var parsed = blocks.Select(b => new Block(b.Type, b.Id, b.Name, b.Text.ToString(), b.Type == "tool_use" ? Input(b.Text.ToString(), sawStop) : null)).ToList();
        return new Parsed(names, message, parsed, stopReason, usage, error);
    }

    // As the SDKs build it: the partial_json fragments joined, none at all being the start's empty object.
    private static JsonObject? Input(string json, bool complete)
    {
        if (json.Length == 0)
        {
            return [];
        }

        try
        {
            var node = JsonNode.Parse(json);
            Assert.True(node is JsonObject, $"tool input {json} is not an object");
            return (JsonObject)node!;
        }
        catch (JsonException) when (!complete)
        {
            // A stream cut by an error may end inside a tool's arguments.
            return null;
        }
    }
}
