namespace Roxy.Grains.Caching;

/// <summary>
/// The silo's memory tier of the prompt cache, shared by all shard grains on the silo: least recently used entries
/// are evicted once the estimated size passes the bound, and an entry past its expiry is never served. One lock around
/// a dictionary and a list: every operation is O(1) and holds it for a few pointer moves.
/// </summary>
public sealed class PromptCacheMemory(long maxBytes, TimeProvider time)
{
    /// <summary>What an entry costs besides its strings: the records, the list node, the dictionary slot.</summary>
    private const long EntryOverhead = 256;

    private const long ToolCallOverhead = 96;

    private readonly Dictionary<(string Tenant, string Hash), LinkedListNode<Item>> _items = [];
    private readonly LinkedList<Item> _recency = new(); // most recent first
    private readonly Lock _lock = new();
    private long _bytes;

    public long MaxBytes => maxBytes;

    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    public bool TryGet(string tenantId, string keyHash, out CachedCompletion entry)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_items.TryGetValue((tenantId, keyHash), out var node))
            {
                if (node.Value.ExpiresAt > now)
                {
                    _recency.Remove(node);
                    _recency.AddFirst(node);
                    entry = node.Value.Entry;
                    return true;
                }

                RemoveLocked(node);
            }
        }

        entry = null!;
        return false;
    }

    /// <summary>Keeps <paramref name="entry"/> until <paramref name="expiresAt"/>, unless it alone is larger than the bound.</summary>
    public void Set(string tenantId, string keyHash, CachedCompletion entry, DateTimeOffset expiresAt)
    {
        var bytes = EstimateBytes(entry);
        if (bytes > maxBytes || expiresAt <= time.GetUtcNow())
        {
            return;
        }

        lock (_lock)
        {
            if (_items.TryGetValue((tenantId, keyHash), out var existing))
            {
                RemoveLocked(existing);
            }

            var node = _recency.AddFirst(new Item(tenantId, keyHash, entry, expiresAt, bytes));
            _items.Add((tenantId, keyHash), node);
            _bytes += bytes;
            while (_bytes > maxBytes && _recency.Last is { } oldest)
            {
                RemoveLocked(oldest);
            }
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _items.Clear();
            _recency.Clear();
            _bytes = 0;
        }
    }

    /// <summary>The managed bytes an entry holds: its strings as UTF-16 plus the objects around them.</summary>
    public static long EstimateBytes(CachedCompletion entry)
    {
        long chars = entry.Provider.Length + entry.Model.Length + (entry.Text?.Length ?? 0) + entry.Finish.Length;
        long bytes = EntryOverhead;
        foreach (var call in entry.ToolCalls)
        {
            chars += call.Id.Length + call.Name.Length + call.Arguments.Length;
            bytes += ToolCallOverhead;
        }

        return bytes + (2 * chars);
    }

    private void RemoveLocked(LinkedListNode<Item> node)
    {
        _recency.Remove(node);
        _items.Remove((node.Value.Tenant, node.Value.Hash));
        _bytes -= node.Value.Bytes;
    }

    private sealed record Item(string Tenant, string Hash, CachedCompletion Entry, DateTimeOffset ExpiresAt, long Bytes);
}
