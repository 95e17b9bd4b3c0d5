using System.Text;
using Roxy.Api.Protocols;
using Roxy.Grains.Caching;

namespace Roxy.Api.Caching;

/// <summary>
/// Assembles the answer an upstream attempt relays, in Roxy's canonical form, so it can be stored: from the decoded
/// stream events as they pass, or from a whole JSON answer. Only a complete, successful answer under the size cap
/// builds an entry.
/// </summary>
/// <remarks>
/// The size counts the UTF-8 bytes of the text and of every tool call's id, name and arguments. Once past the cap the
/// answer can never be stored, so what was assembled is let go at once and nothing more is kept: an answer too big to
/// cache costs no more memory than one the cache never saw.
/// </remarks>
public sealed class CompletionRecorder(int maxEntryBytes)
{
    private StringBuilder? _text;
    private List<ToolSlot>? _tools;
    private string? _model;
    private FinishReason _finish;
    private TokenUsage _usage;
    private long _bytes;
    private bool _complete;

    // An error, a cut or the cap: nothing this attempt says can be stored any more.
    private bool _unstorable;

    public int MaxEntryBytes => maxEntryBytes;

    /// <summary>Forgets what an earlier attempt said: the failover loop may try another target after one that failed.</summary>
    public void Reset()
    {
        _text = null;
        _tools = null;
        _model = null;
        _finish = FinishReason.None;
        _usage = default;
        _bytes = 0;
        _complete = false;
        _unstorable = false;
    }

    public void Add(in ChatEvent chatEvent)
    {
        if (_unstorable)
        {
            return;
        }

        switch (chatEvent.Kind)
        {
            case ChatEventKind.Start:
                if (!string.IsNullOrEmpty(chatEvent.Model))
                {
                    _model ??= chatEvent.Model;
                }

                break;
            case ChatEventKind.TextDelta:
                if (!string.IsNullOrEmpty(chatEvent.Text) && Charge(chatEvent.Text))
                {
                    (_text ??= new StringBuilder()).Append(chatEvent.Text);
                }

                break;
            case ChatEventKind.ToolCallStart:
                ToolStart(chatEvent.ToolIndex, chatEvent.ToolCallId ?? "", chatEvent.ToolName ?? "");
                break;
            case ChatEventKind.ToolCallArguments:
                ToolArguments(chatEvent.ToolIndex, chatEvent.Text);
                break;
            case ChatEventKind.Finish:
                if (chatEvent.Finish != FinishReason.None)
                {
                    _finish = chatEvent.Finish;
                }

                break;
            case ChatEventKind.Usage:
                // Cumulative: the last report is the answer's usage.
                _usage = chatEvent.Usage;
                break;
            case ChatEventKind.Error:
                Drop();
                break;
        }
    }

    /// <summary>A whole JSON answer: complete by nature, so it replaces whatever was recorded.</summary>
    public void Record(ChatCompletion completion)
    {
        Reset();
        _model = string.IsNullOrEmpty(completion.Model) ? null : completion.Model;
        if (!string.IsNullOrEmpty(completion.Text) && Charge(completion.Text))
        {
            _text = new StringBuilder(completion.Text);
        }

        for (var i = 0; i < completion.ToolCalls.Count && !_unstorable; i++)
        {
            var call = completion.ToolCalls[i];
            ToolStart(i, call.Id, call.Name);
            ToolArguments(i, call.Arguments);
        }

        _finish = completion.Finish;
        _usage = completion.UsageKnown ? completion.Usage : default;
        _complete = true;
    }

    /// <summary>The stream ended with its end marker (or a finish and a clean close) and no error.</summary>
    public void Complete() => _complete = true;

    /// <summary>The entry to store; null when the answer was cut off, failed, was not seen whole or is over the cap.</summary>
    /// <param name="provider">The provider that answered.</param>
    /// <param name="fallbackModel">The model named when the answer named none (the target's).</param>
    public CachedCompletion? Build(string provider, string? fallbackModel = null)
    {
        if (!_complete || _unstorable || _finish == FinishReason.None)
        {
            return null;
        }

        CachedToolCall[] calls = [];
        if (_tools is { Count: > 0 } tools)
        {
            calls = new CachedToolCall[tools.Count];
            for (var i = 0; i < tools.Count; i++)
            {
                var tool = tools[i];
                var arguments = tool.Arguments?.ToString();
                // Clients parse arguments, and "" is not JSON: the decoders' own rule for a call that streamed none.
                calls[i] = new CachedToolCall(tool.Id, tool.Name, string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments);
            }
        }

        return new CachedCompletion(
            provider,
            _model ?? fallbackModel ?? "",
            _text?.ToString(),
            calls,
            CachedFinish.ToWord(_finish),
            _usage.PromptTokens,
            _usage.CompletionTokens,
            _usage.CachedTokens);
    }

    private void ToolStart(int index, string id, string name)
    {
        if (index < 0)
        {
            return;
        }

        var tools = _tools ??= [];
        if (index < tools.Count && tools[index].Started)
        {
            // A call numbered twice is not the decoders' doing; its first start stands, as in the encoders.
            return;
        }

        if (!Charge(id) || !Charge(name))
        {
            return;
        }

        Slot(index).Start(id, name);
    }

    private void ToolArguments(int index, string? fragment)
    {
        if (index < 0 || string.IsNullOrEmpty(fragment) || !Charge(fragment))
        {
            return;
        }

        (Slot(index).Arguments ??= new StringBuilder()).Append(fragment);
    }

    private ToolSlot Slot(int index)
    {
        var tools = _tools ??= [];
        while (tools.Count <= index)
        {
            tools.Add(new ToolSlot());
        }

        return tools[index];
    }

    // Counts what the entry would hold; false (and everything let go) once it is over the cap.
    private bool Charge(string value)
    {
        _bytes += Encoding.UTF8.GetByteCount(value);
        if (_bytes <= maxEntryBytes)
        {
            return true;
        }

        Drop();
        return false;
    }

    private void Drop()
    {
        _unstorable = true;
        _text = null;
        _tools = null;
    }

    private sealed class ToolSlot
    {
        public bool Started { get; private set; }
        public string Id { get; private set; } = "";
        public string Name { get; private set; } = "";
        public StringBuilder? Arguments { get; set; }

        public void Start(string id, string name)
        {
            Started = true;
            Id = id;
            Name = name;
        }
    }
}
