using Roxy.Api.Protocols;

namespace Roxy.Api.Inbound.OpenAi;

internal static class FinishReasons
{
    public static string ToOpenAi(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.ToolCalls => "tool_calls",
        FinishReason.ContentFilter => "content_filter",
        _ => "stop",
    };
}
