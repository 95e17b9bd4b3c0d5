using Roxy.Api.Proxy;

namespace Roxy.Api.Usage;

/// <summary>
/// Adds up each finished request's tokens, cost and savings in memory, per tenant and (UTC day, provider, model, key,
/// token); <see cref="UsageFlusher"/> sends the sums to each tenant's usage grain every second. No grain call and no
/// lock per request.
/// </summary>
public sealed class UsageRecorder
{
    /// <param name="costUsd">What the request cost (zero for a cache hit).</param>
    /// <param name="savedUsd">What a cache hit would have cost upstream (zero otherwise).</param>
    public void Record(ProxyRequest request, decimal costUsd, decimal savedUsd) => _ = (request, costUsd, savedUsd); // seam: helper B
}
