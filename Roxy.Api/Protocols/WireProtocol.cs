namespace Roxy.Api.Protocols;

/// <summary>A wire protocol, on either side of Roxy. When both sides speak the same one, bytes pass through.</summary>
public enum WireProtocol
{
    OpenAiChat,
    AnthropicMessages,
}
