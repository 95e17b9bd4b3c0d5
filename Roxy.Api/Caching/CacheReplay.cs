using Roxy.Api.Proxy;
using Roxy.Grains.Caching;

namespace Roxy.Api.Caching;

/// <summary>
/// Serves a cached answer to the request's sink, in the client's protocol and mode: a JSON answer, or a stream of
/// well-formed events (role first, content in several deltas, tool-call deltas, finish, usage, end marker), with a
/// fresh id and creation time.
/// </summary>
public static class CacheReplay
{
    public static Task WriteAsync(ProxyRequest request, CachedCompletion entry) => throw new NotImplementedException();
}
