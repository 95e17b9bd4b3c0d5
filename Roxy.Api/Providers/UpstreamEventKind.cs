namespace Roxy.Api.Providers;

/// <summary>What one upstream stream event means for the relay.</summary>
public enum UpstreamEventKind
{
    /// <summary>Nothing for the client yet: a comment, a keep-alive, a ping, the stream's opening.</summary>
    Empty,

    /// <summary>
    /// The stream's opening in the client's own protocol (Anthropic's <c>message_start</c>, a
    /// <c>content_block_start</c>): nothing to commit on, but passed-through events need it, so it is held back and
    /// written just before the first content.
    /// </summary>
    Opening,

    /// <summary>Something the client must see: the response is committed at the first one.</summary>
    Content,

    /// <summary>The stream's end marker.</summary>
    Done,

    /// <summary>The provider reports an error in the stream.</summary>
    Error,

    /// <summary>Only the usage Roxy asked for (<c>choices: []</c>); a client that did not ask never sees it.</summary>
    UsageOnly,
}
