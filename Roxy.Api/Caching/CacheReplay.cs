using System.Diagnostics;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Grains.Caching;

namespace Roxy.Api.Caching;

/// <summary>
/// Serves a cached answer to the request's sink, in the client's protocol and mode: a JSON answer, or a stream of
/// well-formed events (role first, content in several deltas, tool-call deltas, finish, usage, end marker), with a
/// fresh id and creation time.
/// </summary>
/// <remarks>
/// The sink's own encoders write it, as they write any answer translated from another protocol, so a replay obeys the
/// same rules (the OpenAI usage chunk only for a client that asked, Anthropic's event order). The id is made from the
/// request id, as for a translated answer, and the creation time is the sink's clock. The stream is written whole and
/// flushed once: it is in memory already, and a send per delta would only cost the client wake-ups.
/// </remarks>
public static class CacheReplay
{
    /// <summary>Text goes out in pieces of about this many characters: a stream, not one aggregated chunk.</summary>
    public const int TextPiece = 24;

    /// <summary>Tool-call arguments go out in at most this many fragments (each at least <see cref="TextPiece"/> long).</summary>
    public const int ArgumentFragments = 3;

    public static async Task WriteAsync(ProxyRequest request, CachedCompletion entry)
    {
        var sink = request.Sink;
        var usageKnown = entry.PromptTokens > 0 || entry.CompletionTokens > 0;
        var usage = new TokenUsage(entry.PromptTokens, entry.CompletionTokens, entry.CachedTokens);
        var finish = CachedFinish.FromWord(entry.Finish);
        request.PromptTokens = entry.PromptTokens;
        request.CompletionTokens = entry.CompletionTokens;
        if (usageKnown)
        {
            // A replay knows its prompt exactly: Anthropic's message_start says what its message_delta will (input
            // less what the provider's own cache read), not the estimate a live stream must open with.
            request.PromptEstimate = (int)Math.Clamp(entry.PromptTokens - entry.CachedTokens, 0, int.MaxValue);
        }
        sink.Commit(null, new RouteTarget(entry.Provider, entry.Model), keyId: null, stream: request.Stream);
        request.FirstByteAt = Stopwatch.GetTimestamp();
        var aborted = request.Http.RequestAborted;

        if (!request.Stream)
        {
            var calls = new ToolCall[entry.ToolCalls.Count];
            for (var i = 0; i < calls.Length; i++)
            {
                var call = entry.ToolCalls[i];
                calls[i] = new ToolCall(call.Id, call.Name, call.Arguments);
            }

            var completion = new ChatCompletion("chatcmpl-" + request.RequestId, entry.Model, entry.Text, calls, finish, usage, usageKnown);
            await sink.WriteCompletionAsync(completion, aborted);
            return;
        }

        // No response id: the sink names the stream after the request, never after the answer that was cached.
        sink.WriteEvent(ChatEvent.Started(null, entry.Model));
        if (!string.IsNullOrEmpty(entry.Text))
        {
            foreach (var piece in Pieces(entry.Text, TextPiece))
            {
                sink.WriteEvent(ChatEvent.TextDelta(entry.Text[piece]));
            }
        }

        for (var i = 0; i < entry.ToolCalls.Count; i++)
        {
            var call = entry.ToolCalls[i];
            sink.WriteEvent(ChatEvent.ToolCallStarted(i, call.Id, call.Name));
            var size = Math.Max(TextPiece, (call.Arguments.Length + ArgumentFragments - 1) / ArgumentFragments);
            foreach (var piece in Pieces(call.Arguments, size))
            {
                sink.WriteEvent(ChatEvent.ToolCallArguments(i, call.Arguments[piece]));
            }
        }

        sink.WriteEvent(ChatEvent.Finished(finish));
        if (usageKnown)
        {
            sink.WriteEvent(ChatEvent.UsageReported(usage));
        }

        sink.Complete();
        // Canceled or completed: the client is gone, and there is nothing left to tell it.
        await sink.FlushAsync(aborted);
    }

    /// <summary>
    /// <paramref name="text"/> cut into pieces of <paramref name="size"/> characters, never between the two halves of a
    /// surrogate pair (a half alone is not valid UTF-8 once encoded).
    /// </summary>
    public static List<Range> Pieces(string text, int size)
    {
        var pieces = new List<Range>(text.Length / size + 1);
        var start = 0;
        while (start < text.Length)
        {
            var end = Math.Min(start + size, text.Length);
            if (end < text.Length && char.IsHighSurrogate(text[end - 1]))
            {
                // Before the pair, or past it when the pair is all the piece would hold.
                end += end - 1 > start ? -1 : 1;
            }

            pieces.Add(start..end);
            start = end;
        }

        return pieces;
    }
}
