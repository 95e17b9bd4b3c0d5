namespace Roxy.Api.Protocols;

/// <summary>Why an answer ended, in OpenAI's vocabulary (the one every inbound protocol maps from).</summary>
public enum FinishReason
{
    None,
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}
