using System.Security.Cryptography;

namespace Roxy.Api.Proxy;

public static class RequestIds
{
    // A random per-process prefix plus a counter: unique across processes and restarts without a syscall
    // for randomness on every request.
    private static readonly string Prefix = "req_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    private static long _counter;
    private static readonly Microsoft.Extensions.Primitives.StringValues Bypass = new("bypass");

    /// <summary>
    /// Whether <paramref name="id"/> has the shape <see cref="Assign"/> gives (<c>req_</c> and 24 lowercase hex digits):
    /// anything else cannot name a request, so a lookup of it is answered without a grain call.
    /// </summary>
    public static bool IsWellFormed(string id) =>
        id.Length == Prefix.Length + 12 && id.StartsWith("req_", StringComparison.Ordinal) && !id.AsSpan(4).ContainsAnyExcept(LowerHex);

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    /// <summary>Gives every request an id, echoed as <c>x-request-id</c> and used in the request log.</summary>
    public static string Assign(HttpContext http)
    {
        var n = Interlocked.Increment(ref _counter);
        var id = string.Create(Prefix.Length + 12, n, static (span, value) =>
        {
            Prefix.CopyTo(span);
            value.TryFormat(span[Prefix.Length..], out _, "x12");
        });
        http.Response.Headers["x-request-id"] = id;
        // Every answer says what the prompt cache did; until the pipeline looks, it did nothing.
        http.Response.Headers["x-roxy-cache"] = Bypass;
        return id;
    }
}
