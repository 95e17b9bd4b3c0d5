namespace Roxy.Grains.Caching;

public enum CacheLookupStatus
{
    /// <summary>Found: <see cref="CacheLookup.Entry"/> is the answer.</summary>
    Hit,

    /// <summary>Not found, and nobody is fetching it: the caller goes upstream and stores or abandons.</summary>
    Lead,

    /// <summary>Not found, and the caller goes upstream on its own (the leader failed, or the wait ran out).</summary>
    Miss,
}
