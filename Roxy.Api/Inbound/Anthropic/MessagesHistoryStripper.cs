using Roxy.Api.Proxy;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// Removes earlier <c>#roxy</c> turns from an Anthropic conversation before it goes upstream, as
/// <see cref="HistoryStripper"/> does for OpenAI's: every user turn that is a command and the assistant turn that
/// answered it. The rest of the body is copied byte for byte.
/// </summary>
public static class MessagesHistoryStripper
{
    public static PooledBuffer Strip(ReadOnlySpan<byte> body) => throw new NotImplementedException("issue 9: history stripper");
}
