namespace Roxy.Api.Proxy;

/// <summary>
/// The token reservation made before a request goes upstream: prompt tokens plus the completion budget
/// (<c>max_tokens</c>, or the configured default). The real usage corrects it afterwards.
/// </summary>
public sealed class TokenEstimator(int defaultMaxTokens)
{
    public int Estimate(ReadOnlySpan<byte> body, ChatRequestInfo info)
    {
        // About four bytes of JSON per token; cheap and errs high, which is the safe side for a limiter.
        var prompt = body.Length / 4;
        return prompt + (info.MaxTokens ?? defaultMaxTokens);
    }
}
