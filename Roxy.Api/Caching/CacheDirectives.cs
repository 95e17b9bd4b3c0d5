using System.Globalization;
using Roxy.Api.Errors;

namespace Roxy.Api.Caching;

/// <summary>
/// What a request asks of the prompt cache (SPEC §7): <c>Cache-Control: no-cache</c> skips the lookup but still
/// stores, <c>no-store</c> does neither, <c>x-roxy-cache-ttl: N</c> keeps the answer N seconds (0: not stored).
/// </summary>
public readonly record struct CacheDirectives(bool Lookup, bool Store, int? TtlSec)
{
    public const string TtlHeader = "x-roxy-cache-ttl";

    /// <summary>Ten years: past that a TTL is a typo, not a wish.</summary>
    private const int MaxTtlSec = 315_360_000;

    public static readonly CacheDirectives Default = new(Lookup: true, Store: true, TtlSec: null);

    public static ProxyError InvalidTtl { get; } = ProxyError.InvalidRequest(
        $"The {TtlHeader} header must be a whole number of seconds from 0 to {MaxTtlSec} (0: do not store the answer).", TtlHeader);

    /// <summary>The request's directives; an error (400) for an <c>x-roxy-cache-ttl</c> that is not a number of seconds.</summary>
    public static ProxyError? Read(IHeaderDictionary headers, out CacheDirectives directives)
    {
        directives = Default;
        var cacheControl = headers.CacheControl;
        var ttlHeader = headers[TtlHeader];
        if (cacheControl.Count == 0 && ttlHeader.Count == 0)
        {
            return null;
        }

        var lookup = true;
        var store = true;
        foreach (var value in cacheControl)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (part.Equals("no-store", StringComparison.OrdinalIgnoreCase))
                {
                    lookup = false;
                    store = false;
                }
                else if (part.Equals("no-cache", StringComparison.OrdinalIgnoreCase))
                {
                    lookup = false;
                }
            }
        }

        int? ttl = null;
        if (ttlHeader.Count > 0)
        {
            if (ttlHeader.Count > 1
                || !int.TryParse(ttlHeader[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                || seconds > MaxTtlSec)
            {
                return InvalidTtl;
            }

            ttl = seconds;
            store &= seconds > 0;
        }

        directives = new CacheDirectives(lookup, store, ttl);
        return null;
    }
}
