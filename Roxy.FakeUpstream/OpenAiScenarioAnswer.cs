using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Roxy.FakeUpstream;

/// <summary>
/// The answer of one <see cref="OpenAiScenario"/>, as OpenAI writes it: a <c>chat.completion</c>, or
/// <c>chat.completion.chunk</c>s ending with <c>[DONE]</c> (and the usage chunk when asked for). Off the fast path,
/// so written with <see cref="Utf8JsonWriter"/>.
/// </summary>
internal sealed class OpenAiScenarioAnswer
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly string[] Stock = ["Hello", " from", " the", " fake", " upstream"];

    private sealed record Call(string Id, string Name, IReadOnlyList<string> Fragments);

    private readonly List<string> _text;
    private readonly List<Call> _calls;
    private readonly string _finish;
    private readonly bool _interleave;
    private readonly int _prompt;
    private readonly int _cached;
    private readonly bool _failMidStream;
    private readonly bool _noDone;

    private OpenAiScenarioAnswer(List<string> text, List<Call> calls, string finish, int prompt, int cached, bool interleave = false, bool failMidStream = false, bool noDone = false)
    {
        _text = text;
        _calls = calls;
        _finish = finish;
        _prompt = prompt;
        _cached = cached;
        _interleave = interleave;
        _failMidStream = failMidStream;
        _noDone = noDone;
    }

    private int Completion => Math.Max(1, _text.Count + _calls.Sum(c => c.Fragments.Count + 1));

    /// <summary>The status error a scenario answers with instead of a completion, or null.</summary>
    public static FakeResponse? ErrorOf(OpenAiScenario scenario, bool stream) => scenario switch
    {
        OpenAiScenario.RateLimited => FakeResponse.RateLimited(retryAfterSeconds: 7),
        OpenAiScenario.Overloaded => FakeResponse.Overloaded(),
        OpenAiScenario.ErrorMidStream when !stream => FakeResponse.ServerError(),
        _ => null,
    };

    /// <param name="toolResults">The texts of the tool messages that end the conversation, if it ends so.</param>
    public static OpenAiScenarioAnswer For(OpenAiScenario scenario, long id, int prompt, List<string>? toolResults)
    {
        var suffix = id.ToString("x", CultureInfo.InvariantCulture);
        var toolScenario = scenario is OpenAiScenario.TextThenTool or OpenAiScenario.ParallelTools or OpenAiScenario.InterleavedTools
            or OpenAiScenario.ToolNoArgs or OpenAiScenario.ToolThenStop;
        if (toolScenario && toolResults is { Count: > 0 })
        {
            // The model has what it asked for: it answers, quoting the results so a test sees they arrived.
            return new([.. Words("The tools said: " + string.Join(" | ", toolResults))], [], "stop", prompt, 0);
        }

        Call Weather() => new("call_weather" + suffix, "get_weather", ["{\"ci", "ty\": \"Pa", "ris\"}"]);
        Call Time() => new("call_time" + suffix, "get_time", ["{\"timezone\":", " \"Europe/Paris\"}"]);
        return scenario switch
        {
            OpenAiScenario.TextThenTool => new(["Let me", " look", " that up."], [Weather()], "tool_calls", prompt, 0),
            OpenAiScenario.ParallelTools => new([], [Weather(), Time()], "tool_calls", prompt, 0),
            OpenAiScenario.InterleavedTools => new([], [Weather(), Time()], "tool_calls", prompt, 0, interleave: true),
            OpenAiScenario.ToolNoArgs => new([], [new("call_status" + suffix, "get_status", [])], "tool_calls", prompt, 0),
            OpenAiScenario.ToolThenStop => new([], [Weather()], "stop", prompt, 0),
            OpenAiScenario.Cached => new([.. Stock], [], "stop", 1500, 1280),
            OpenAiScenario.Length => new([.. Stock], [], "length", prompt, 0),
            OpenAiScenario.ContentFilter => new(["I cannot", " continue."], [], "content_filter", prompt, 0),
            OpenAiScenario.ErrorMidStream => new([.. Stock], [], "stop", prompt, 0, failMidStream: true),
            OpenAiScenario.NoDone => new([.. Stock], [], "stop", prompt, 0, noDone: true),
            _ => new([.. Stock], [], "stop", prompt, 0),
        };
    }

    private static IEnumerable<string> Words(string text)
    {
        var start = 0;
        for (var i = 1; i < text.Length; i++)
        {
            if (text[i] == ' ' && text[i - 1] != ' ')
            {
                yield return text[start..i];
                start = i;
            }
        }

        yield return text[start..];
    }

    public void WriteCompletion(IBufferWriter<byte> output, string id, long created, string model)
    {
        using var w = new Utf8JsonWriter(output, WriterOptions);
        Header(w, id, created, model, "chat.completion");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("message");
        w.WriteString("role", "assistant");
        if (_text.Count > 0)
        {
            w.WriteString("content", string.Concat(_text));
        }
        else
        {
            w.WriteNull("content");
        }

        if (_calls.Count > 0)
        {
            w.WriteStartArray("tool_calls");
            foreach (var call in _calls)
            {
                w.WriteStartObject();
                w.WriteString("id", call.Id);
                w.WriteString("type", "function");
                w.WriteStartObject("function");
                w.WriteString("name", call.Name);
                w.WriteString("arguments", string.Concat(call.Fragments));
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteNull("refusal");
        w.WriteStartArray("annotations");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteString("finish_reason", _finish);
        w.WriteEndObject();
        w.WriteEndArray();
        Usage(w);
        w.WriteEndObject();
    }

    /// <summary>Writes the chunks, one flush each, pausing <paramref name="between"/> between them.</summary>
    public async Task StreamAsync(HttpContext ctx, string id, long created, string model, bool includeUsage, TimeSpan between)
    {
        var pipe = ctx.Response.BodyWriter;
        var ct = ctx.RequestAborted;
        var chunks = Chunks().ToList();
        for (var i = 0; i < chunks.Count; i++)
        {
            if (i > 0 && between > TimeSpan.Zero)
            {
                await Task.Delay(between, ct).ConfigureAwait(false);
            }

            W.Raw(pipe, "data: "u8);
            using (var w = new Utf8JsonWriter(pipe, WriterOptions))
            {
                if (chunks[i] is null)
                {
                    // OpenAI's mid-stream failure: an error object where a chunk should be, then the stream ends.
                    w.WriteStartObject();
                    w.WriteStartObject("error");
                    w.WriteString("message", "The server had an error while processing your request. Sorry about that!");
                    w.WriteString("type", "server_error");
                    w.WriteNull("param");
                    w.WriteNull("code");
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                else
                {
                    Header(w, id, created, model, "chat.completion.chunk");
                    w.WriteStartArray("choices");
                    w.WriteStartObject();
                    w.WriteNumber("index", 0);
                    chunks[i]!(w);
                    w.WriteNull("logprobs");
                    w.WriteEndObject();
                    w.WriteEndArray();
                    if (includeUsage)
                    {
                        w.WriteNull("usage");
                    }

                    w.WriteEndObject();
                }
            }

            W.Raw(pipe, "\n\n"u8);
            await pipe.FlushAsync(ct).ConfigureAwait(false);
            if (chunks[i] is null)
            {
                return;
            }
        }

        if (includeUsage)
        {
            W.Raw(pipe, "data: "u8);
            using (var w = new Utf8JsonWriter(pipe, WriterOptions))
            {
                Header(w, id, created, model, "chat.completion.chunk");
                w.WriteStartArray("choices");
                w.WriteEndArray();
                Usage(w);
                w.WriteEndObject();
            }

            W.Raw(pipe, "\n\n"u8);
        }

        if (!_noDone)
        {
            W.Raw(pipe, "data: [DONE]\n\n"u8);
        }

        await pipe.FlushAsync(ct).ConfigureAwait(false);
    }

    // Each chunk writes its delta and finish_reason; null is the error chunk that ends a failing stream.
    private IEnumerable<Action<Utf8JsonWriter>?> Chunks()
    {
        var firstCall = _text.Count == 0 && _calls.Count > 0 ? _calls[0] : null;
        yield return w =>
        {
            w.WriteStartObject("delta");
            w.WriteString("role", "assistant");
            if (firstCall is null)
            {
                w.WriteString("content", "");
            }
            else
            {
                // As OpenAI does when a turn opens with a call: its id and name ride on the role chunk.
                w.WriteNull("content");
                w.WriteStartArray("tool_calls");
                CallStart(w, 0, firstCall);
                w.WriteEndArray();
            }

            w.WriteNull("refusal");
            w.WriteEndObject();
            w.WriteNull("finish_reason");
        };

        for (var t = 0; t < _text.Count; t++)
        {
            var text = _text[t];
            yield return w =>
            {
                w.WriteStartObject("delta");
                w.WriteString("content", text);
                w.WriteEndObject();
                w.WriteNull("finish_reason");
            };
            if (_failMidStream && t == 1)
            {
                yield return null;
                yield break;
            }
        }

        foreach (var (index, call, fragment) in CallEvents(firstCall is not null))
        {
            yield return w =>
            {
                w.WriteStartObject("delta");
                w.WriteStartArray("tool_calls");
                if (fragment is null)
                {
                    CallStart(w, index, call);
                }
                else
                {
                    w.WriteStartObject();
                    w.WriteNumber("index", index);
                    w.WriteStartObject("function");
                    w.WriteString("arguments", fragment);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteNull("finish_reason");
            };
        }

        yield return w =>
        {
            w.WriteStartObject("delta");
            w.WriteEndObject();
            w.WriteString("finish_reason", _finish);
        };
    }

    // A null fragment opens the call; the others are its argument fragments, in order or alternating between calls.
    private IEnumerable<(int Index, Call Call, string? Fragment)> CallEvents(bool firstOpened)
    {
        if (!_interleave)
        {
            for (var c = 0; c < _calls.Count; c++)
            {
                if (c > 0 || !firstOpened)
                {
                    yield return (c, _calls[c], null);
                }

                foreach (var fragment in _calls[c].Fragments)
                {
                    yield return (c, _calls[c], fragment);
                }
            }

            yield break;
        }

        var longest = _calls.Max(c => c.Fragments.Count);
        for (var f = 0; f < longest; f++)
        {
            for (var c = 0; c < _calls.Count; c++)
            {
                if (f == 0 && (c > 0 || !firstOpened))
                {
                    yield return (c, _calls[c], null);
                }

                if (f < _calls[c].Fragments.Count)
                {
                    yield return (c, _calls[c], _calls[c].Fragments[f]);
                }
            }
        }
    }

    private static void CallStart(Utf8JsonWriter w, int index, Call call)
    {
        w.WriteStartObject();
        w.WriteNumber("index", index);
        w.WriteString("id", call.Id);
        w.WriteString("type", "function");
        w.WriteStartObject("function");
        w.WriteString("name", call.Name);
        w.WriteString("arguments", "");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Header(Utf8JsonWriter w, string id, long created, string model, string objectName)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", objectName);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteString("service_tier", "default");
        w.WriteString("system_fingerprint", "fp_fake");
    }

    private void Usage(Utf8JsonWriter w)
    {
        var completion = Completion;
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", _prompt);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", _prompt + completion);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", _cached);
        w.WriteNumber("audio_tokens", 0);
        w.WriteEndObject();
        w.WriteStartObject("completion_tokens_details");
        w.WriteNumber("reasoning_tokens", 0);
        w.WriteNumber("audio_tokens", 0);
        w.WriteNumber("accepted_prediction_tokens", 0);
        w.WriteNumber("rejected_prediction_tokens", 0);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
