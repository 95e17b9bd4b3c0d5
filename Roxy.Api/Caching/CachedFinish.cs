using Roxy.Api.Inbound.OpenAi;
using Roxy.Api.Protocols;

namespace Roxy.Api.Caching;

/// <summary>A cached entry's finish reason is stored in OpenAI's words, so a stored row reads the same to every client.</summary>
public static class CachedFinish
{
    public static string ToWord(FinishReason reason) => FinishReasons.ToOpenAi(reason);

    /// <summary>A word this build does not know (a row written by a newer one) ends the answer as <c>stop</c>.</summary>
    public static FinishReason FromWord(string? word) => word switch
    {
        "length" => FinishReason.Length,
        "tool_calls" => FinishReason.ToolCalls,
        "content_filter" => FinishReason.ContentFilter,
        _ => FinishReason.Stop,
    };
}
