namespace Roxy.Api.Proxy;

/// <summary>
/// What Roxy needs from a chat request body, read in one forward pass without building a DOM. Offsets let the
/// body be forwarded with only <c>model</c> (and <c>stream_options</c>) spliced.
/// </summary>
public sealed class ChatRequestInfo
{
    public string Model { get; set; } = "";
    public bool Stream { get; set; }

    /// <summary>The client asked for the usage chunk itself (so Roxy must not strip it).</summary>
    public bool ClientWantsUsage { get; set; }

    /// <summary>The client's <c>max_tokens</c> (or <c>max_completion_tokens</c>); null when it set none.</summary>
    public int? MaxTokens { get; set; }

    /// <summary><c>n</c>: how many choices are generated, each up to <see cref="MaxTokens"/>; 1 when absent.</summary>
    public int Choices { get; set; } = 1;

    /// <summary>The JSON string token of the last user message's text (string content or first text part).</summary>
    public Range? LastUserTextToken { get; set; }

    public int MessageCount { get; set; }

    /// <summary>The last user message is a <c>#roxy</c> command: Roxy answers it and nothing goes upstream.</summary>
    public bool LastUserIsCommand { get; set; }

    /// <summary>User messages that are <c>#roxy</c> commands; earlier ones are stripped before going upstream.</summary>
    public int CommandMessages { get; set; }

    /// <summary>Byte range of the <c>model</c> value token (quotes included).</summary>
    public Range ModelValue { get; set; }

    /// <summary>Byte range of the whole <c>"stream_options": {...}</c> member, when present.</summary>
    public Range? StreamOptionsMember { get; set; }

    /// <summary>Offset just after the opening brace of <c>stream_options</c>, when it is an object.</summary>
    public int? StreamOptionsObjectStart { get; set; }

    public bool StreamOptionsHasMembers { get; set; }

    /// <summary>Byte range of an <c>include_usage</c> value that is not <c>true</c>, so it can be overwritten.</summary>
    public Range? IncludeUsageValue { get; set; }

    /// <summary>Offset just after the opening brace of the top-level object.</summary>
    public int ObjectStart { get; set; }
}
