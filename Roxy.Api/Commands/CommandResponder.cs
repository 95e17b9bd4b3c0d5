using Roxy.Api.Inbound.Anthropic;
using Roxy.Api.Inbound.OpenAi;
using Roxy.Api.Protocols;

namespace Roxy.Api.Commands;

/// <summary>
/// Answers a command the way a model would: a <c>chat.completion</c> from model <c>roxy</c>, or the same content
/// as <c>chat.completion.chunk</c> events when the client asked to stream, so any chat UI shows it; an Anthropic
/// <c>message</c> (or its named events) from model <c>roxy</c> to a client of <c>/v1/messages</c>.
/// </summary>
public static class CommandResponder
{
    public const string Model = "roxy";

    public static async Task WriteAsync(HttpContext http, string requestId, string markdown, WireProtocol protocol, bool stream, bool includeUsage, TimeProvider time)
    {
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers["x-roxy-model"] = Model;
        response.Headers["x-roxy-provider"] = Model;
        response.Headers["x-roxy-cache"] = "bypass";
        // Commands never reach a provider: they cost no tokens.
        var usage = new TokenUsage(0, 0);
        if (protocol == WireProtocol.AnthropicMessages)
        {
            await WriteAnthropicAsync(http, requestId, markdown, stream, usage);
            return;
        }

        var id = "chatcmpl-" + requestId;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        if (!stream)
        {
            response.ContentType = "application/json";
            OpenAiCompletionEncoder.Write(new ChatCompletion(id, Model, markdown, [], FinishReason.Stop, usage, UsageKnown: true), created, response.BodyWriter);
            await response.BodyWriter.FlushAsync(http.RequestAborted);
            return;
        }

        // The same encoder as an answer translated from another protocol: one chunk with the role and the whole text,
        // the finish chunk, the usage chunk when asked for, then [DONE].
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var encoder = new OpenAiChunkEncoder(id, created, includeUsage);
        var output = response.BodyWriter;
        encoder.Write(ChatEvent.Started(id, Model), output);
        encoder.Write(ChatEvent.TextDelta(markdown), output);
        encoder.Write(ChatEvent.Finished(FinishReason.Stop), output);
        encoder.Write(ChatEvent.UsageReported(usage), output);
        encoder.Complete(output);
        await output.FlushAsync(http.RequestAborted);
    }

    // The same encoders as an answer translated for an Anthropic client: a message from model roxy, or its stream
    // (message_start, one text block, message_delta with end_turn and no usage, message_stop).
    private static async Task WriteAnthropicAsync(HttpContext http, string requestId, string markdown, bool stream, TokenUsage usage)
    {
        var response = http.Response;
        var id = AnthropicMessageEncoder.MessageId(requestId);
        var output = response.BodyWriter;
        if (!stream)
        {
            response.ContentType = "application/json";
            AnthropicMessageEncoder.Write(new ChatCompletion(id, Model, markdown, [], FinishReason.Stop, usage, UsageKnown: true), id, Model, inputEstimate: 0, output);
            await output.FlushAsync(http.RequestAborted);
            return;
        }

        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var encoder = new AnthropicStreamEncoder(id, inputTokens: 0, Model);
        encoder.Write(ChatEvent.Started(id, Model), output);
        encoder.Write(ChatEvent.TextDelta(markdown), output);
        encoder.Write(ChatEvent.Finished(FinishReason.Stop), output);
        encoder.Write(ChatEvent.UsageReported(usage), output);
        encoder.Complete(output);
        await output.FlushAsync(http.RequestAborted);
    }
}
