namespace Roxy.Api.Protocols;

public enum ChatEventKind
{
    /// <summary>The answer begins (the assistant's role). Always the first event an encoder sees.</summary>
    Start,
    TextDelta,

    /// <summary>A tool call begins: its id and name, before any argument fragment.</summary>
    ToolCallStart,
    ToolCallArguments,
    Finish,

    /// <summary>The answer's token usage, once known (cumulative: a later one replaces an earlier one).</summary>
    Usage,

    /// <summary>The provider failed after content was sent: the client must see an error, never a fake stop.</summary>
    Error,
}
