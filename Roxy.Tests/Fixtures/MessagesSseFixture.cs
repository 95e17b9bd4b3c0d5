using System.Text.Json.Nodes;

namespace Roxy.Tests.Fixtures;

/// <summary>One named SSE event of an Anthropic stream, its <c>data</c> parsed.</summary>
public sealed record MessagesSseEvent(string Name, JsonNode Data)
{
    public string Type => Data["type"]!.GetValue<string>();
}

/// <summary>
/// Reads an Anthropic Messages stream as its SDKs do, and checks the order they rely on: exactly one
/// <c>message_start</c> first; content blocks opened once each with indices 0, 1, 2, … and each closed before the
/// next opens; deltas only inside their open block; then one <c>message_delta</c> and <c>message_stop</c> last.
/// <c>ping</c> may come anywhere. The failures name the event, so a broken order reads plainly.
/// </summary>
public static class MessagesSse
{
    public static List<MessagesSseEvent> Parse(string body)
    {
        var events = new List<MessagesSseEvent>();
        foreach (var frame in body.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            var data = new List<string>();
            foreach (var line in frame.Split('\n'))
            {
                if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    name = line[6..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    data.Add(line[5..].TrimStart());
                }
            }

            Assert.True(name is not null, $"every Anthropic SSE event is named: {frame}");
            var parsed = JsonNode.Parse(string.Join("\n", data))!;
            Assert.Equal(name, parsed["type"]!.GetValue<string>());
            events.Add(new MessagesSseEvent(name!, parsed));
        }

        return events;
    }

    /// <summary>Asserts Anthropic's event order on a stream that completed; returns the events without pings.</summary>
    public static List<MessagesSseEvent> AssertWellOrdered(List<MessagesSseEvent> events)
    {
        var content = events.Where(e => e.Name != "ping").ToList();
        Assert.Equal("message_start", content[0].Name);
        Assert.Single(content, e => e.Name == "message_start");
        Assert.Equal("message_stop", content[^1].Name);
        Assert.Equal("message_delta", content[^2].Name);
        Assert.Single(content, e => e.Name == "message_delta");
        int? open = null;
        var next = 0;
        foreach (var e in content.Skip(1).SkipLast(2))
        {
            var index = e.Data["index"]!.GetValue<int>();
            switch (e.Name)
            {
                case "content_block_start":
                    Assert.True(open is null, $"block {index} opened while block {open} is still open");
                    Assert.Equal(next, index);
                    open = index;
                    next++;
                    break;
                case "content_block_delta":
                    Assert.True(open == index, $"a delta for block {index} while block {open?.ToString() ?? "none"} is open");
                    break;
                case "content_block_stop":
                    Assert.True(open == index, $"block {index} closed while block {open?.ToString() ?? "none"} is open");
                    open = null;
                    break;
                default:
                    Assert.Fail($"unexpected event {e.Name} between message_start and message_delta");
                    break;
            }
        }

        Assert.Null(open);
        return content;
    }

    /// <summary>The blocks of a stream as (type, text or accumulated partial JSON, the start's content_block).</summary>
    public static List<(string Type, string Content, JsonNode Start)> Blocks(List<MessagesSseEvent> events)
    {
        var blocks = new List<(string Type, string Content, JsonNode Start)>();
        foreach (var e in events)
        {
            if (e.Name == "content_block_start")
            {
                var start = e.Data["content_block"]!;
                blocks.Add((start["type"]!.GetValue<string>(), "", start));
            }
            else if (e.Name == "content_block_delta")
            {
                var delta = e.Data["delta"]!;
                var piece = delta["type"]!.GetValue<string>() switch
                {
                    "text_delta" => delta["text"]!.GetValue<string>(),
                    "input_json_delta" => delta["partial_json"]!.GetValue<string>(),
                    "thinking_delta" => delta["thinking"]!.GetValue<string>(),
                    _ => "",
                };
                var index = e.Data["index"]!.GetValue<int>();
                blocks[index] = (blocks[index].Type, blocks[index].Content + piece, blocks[index].Start);
            }
        }

        return blocks;
    }
}
