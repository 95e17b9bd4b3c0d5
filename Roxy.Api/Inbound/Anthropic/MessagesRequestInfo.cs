namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// What Roxy needs from an Anthropic Messages body (<c>POST /v1/messages</c>), read in one forward pass without a
/// DOM. Offsets let the body go to an Anthropic target with only <c>model</c> spliced.
/// </summary>
public sealed class MessagesRequestInfo
{
    public string Model { get; set; } = "";

    /// <summary>Byte range of the <c>model</c> value token (quotes included).</summary>
    public Range ModelValue { get; set; }

    public bool Stream { get; set; }

    /// <summary>Anthropic requires it on <c>/v1/messages</c>; on <c>count_tokens</c> it is ignored and left null.</summary>
    public int? MaxTokens { get; set; }

    public int MessageCount { get; set; }

    /// <summary>
    /// The JSON string token of the last message's text when that message is a user turn: its string content, else
    /// its first text block that is a <c>#roxy</c> command, else its last text block (clients put reminders and
    /// attachments around what the user typed).
    /// </summary>
    public Range? LastUserTextToken { get; set; }

    /// <summary>The last user turn is a <c>#roxy</c> command: Roxy answers it and nothing goes upstream.</summary>
    public bool LastUserIsCommand { get; set; }

    /// <summary>User turns that are <c>#roxy</c> commands; earlier ones are stripped before going upstream.</summary>
    public int CommandMessages { get; set; }

    /// <summary>The client's <c>anthropic-version</c> header, forwarded to an Anthropic target.</summary>
    public string? AnthropicVersion { get; set; }

    /// <summary>The client's <c>anthropic-beta</c> header, forwarded to an Anthropic target.</summary>
    public string? AnthropicBeta { get; set; }
}
