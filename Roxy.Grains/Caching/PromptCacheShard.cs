using System.Globalization;

namespace Roxy.Grains.Caching;

/// <summary>
/// What one shard activation knows about its rows: its epoch, and the keys (first 8 bytes of the hash, with their
/// expiry) that may be present in <c>roxy_prompt_cache</c>. While the knowledge is trusted, a key not in it is absent
/// and a lookup misses with no PostgreSQL read. A key in it may still be gone (cleared, swept, a write lost): that is
/// only a read, as before.
/// </summary>
/// <remarks>
/// <para>Why "not in the set" means "not stored" (no false absent for an unexpired row another activation wrote):</para>
/// <list type="number">
/// <item>Every row is written under an epoch, by a statement that takes <c>FOR SHARE</c> on the shard's epoch row and
/// inserts only if the epoch is still the writer's (<see cref="PromptCacheStore.WriteAsync"/>). An activation starts by
/// bumping the epoch (an UPDATE, which waits for every write holding that lock and makes later ones re-check and fail),
/// then reads the shard's live keys. So each live row was committed before the bump, and is in the set, or was
/// written under this activation's own epoch, which only its own stores carry, and each of those is added to the set
/// when stored, before its row is queued. A row written late by an older activation (a silo's writer still flushing
/// after a move) is refused, not missed.</item>
/// <item>Two activations alive at once (a membership change): the older one's writes are refused once the newer
/// bumped, but it would not see the newer one's rows. So an activation trusts its set only under a lease recorded in
/// the shard's row (<see cref="PromptCacheOptions.AbsenceLease"/>, renewed by an UPDATE that succeeds only under its
/// epoch): it trusts until a lease after it sent the bump or renewal, which is never later than the
/// <c>lease_until</c> PostgreSQL recorded for it. A new activation reads the previous lease's remainder in its bump
/// (under the row lock) and neither trusts nor writes a row (<see cref="WritableFrom"/>; the writer holds them) until
/// that remainder has passed since its bump returned. So no row of a newer epoch lands while an older activation
/// still trusts, and an older one whose renewal finds the epoch moved never trusts again. An activation that lets go
/// (deactivation) releases its lease, so its successor need not wait; clocks are assumed to run at the same rate.</item>
/// <item>A new activation's own stores before its keys are read are in its set already (it starts empty, and the
/// read merges into it).</item>
/// <item>Rows expire (the set keeps each key's expiry: an expired key is absent, which PostgreSQL's read would say
/// too); a clear changes the generation inside the key hash, so the new keys are absent until stored; an entry evicted
/// from the silo's memory stays in the set and is read back; a restarted silo's activations start over from a new epoch and a fresh read of the keys.</item>
/// </list>
/// <para>Bounded: a shard holding more than <see cref="MaxKeys"/> keys keeps none and reads on every miss.</para>
/// </remarks>
public sealed class PromptCacheShard(string id, TimeSpan lease, TimeProvider time)
{
    /// <summary>Keys a shard knows at most (16 shards a tenant): about 32 bytes each, 2 MiB for a full shard.</summary>
    public const int MaxKeys = 65_536;

    private readonly long _leaseTicks = (long)(lease.TotalSeconds * time.TimestampFrequency);
    private Dictionary<ulong, long>? _keys = []; // key prefix -> expiry (UTC ticks); null: too many to hold
    private bool _loaded;
    private long _epoch;
    private long _trustFrom = long.MaxValue;
    private long _trustUntil = long.MinValue;
    private int _pendingRows;

    /// <summary>The grain key: tenant, '/', first hex digit of the key hash.</summary>
    public string Id => id;

    /// <summary>The epoch rows are written under; 0 until the bump succeeded (such rows are refused).</summary>
    public long Epoch => Volatile.Read(ref _epoch);

    /// <summary>
    /// When this activation's rows may be written (a <see cref="TimeProvider"/> timestamp): a lease after its bump, once
    /// any older activation's trust has ended. Before the bump succeeded, never.
    /// </summary>
    public long WritableFrom => Volatile.Read(ref _trustFrom);

    /// <summary>Rows queued for the writer and not yet written (or given up).</summary>
    public int PendingRows => Volatile.Read(ref _pendingRows);

    /// <summary>Another activation bumped the epoch since: this one never trusts its knowledge again.</summary>
    public bool Superseded { get; private set; }

    /// <summary>
    /// The epoch this activation bumped to with a bump sent at <paramref name="sentAt"/> and returned at
    /// <paramref name="returnedAt"/>, its own lease recorded, and the time the previous activation's lease still ran.
    /// </summary>
    public void Opened(long epoch, long sentAt, long returnedAt, TimeSpan previousLease)
    {
        Volatile.Write(ref _epoch, epoch);
        Volatile.Write(ref _trustFrom, returnedAt + (long)(previousLease.TotalSeconds * time.TimestampFrequency));
        _trustUntil = sentAt + _leaseTicks;
    }

    /// <summary>Deactivating: trusts nothing from now on, so its lease may be released.</summary>
    public void Close() => Superseded = true;

    /// <summary>
    /// The shard's live keys as read after the bump (null: more than <see cref="MaxKeys"/>), merged with what this
    /// activation stored meanwhile.
    /// </summary>
    public void Loaded(IReadOnlyList<(ulong Prefix, long ExpiresTicks)>? keys)
    {
        if (keys is null || _keys is null || keys.Count + _keys.Count > MaxKeys)
        {
            _keys = null; // too many to hold: no knowledge, reads as before
            return;
        }

        foreach (var (prefix, expires) in keys)
        {
            if (!_keys.TryGetValue(prefix, out var held) || held < expires)
            {
                _keys[prefix] = expires;
            }
        }

        _loaded = true;
    }

    /// <summary>A renewal sent at <paramref name="sentAt"/> extended the lease, or found a newer epoch.</summary>
    public void Renewed(bool stillCurrent, long sentAt)
    {
        if (!stillCurrent)
        {
            Superseded = true;
            return;
        }

        _trustUntil = Math.Max(_trustUntil, sentAt + _leaseTicks);
    }

    /// <summary>True when the knowledge is usable now but its lease ends within half of it (or has ended).</summary>
    public bool WantsConfirmation(long now) =>
        _leaseTicks > 0 && Usable && now >= _trustFrom && now >= _trustUntil - (_leaseTicks / 2);

    /// <summary>The epoch is known but the keys were never read (PostgreSQL failed then): worth another load.</summary>
    public bool WantsLoad => Epoch != 0 && !_loaded && _keys is not null;

    private bool Usable => !Superseded && _loaded && _keys is not null && Epoch != 0;

    /// <summary>True only when the key is certainly not stored unexpired: trusted now, and not in the set (or expired).</summary>
    public bool KnowsAbsent(string keyHash)
    {
        if (!Usable || !TryPrefix(keyHash, out var prefix))
        {
            return false;
        }

        var now = time.GetTimestamp();
        if (now < _trustFrom || now >= _trustUntil)
        {
            return false;
        }

        return !_keys!.TryGetValue(prefix, out var expires) || expires <= time.GetUtcNow().UtcTicks;
    }

    /// <summary>This activation stores the key: from now on it may be present, until <paramref name="expiresAt"/>.</summary>
    public void Stored(string keyHash, DateTimeOffset expiresAt)
    {
        if (_keys is null || !TryPrefix(keyHash, out var prefix))
        {
            return;
        }

        if (_keys.Count >= MaxKeys && !_keys.ContainsKey(prefix))
        {
            _keys = null;
            return;
        }

        // The later expiry: if this store's row is refused or lost, an older row may outlive it.
        if (!_keys.TryGetValue(prefix, out var held) || held < expiresAt.UtcTicks)
        {
            _keys[prefix] = expiresAt.UtcTicks;
        }
    }

    public void RowQueued() => Interlocked.Increment(ref _pendingRows);

    public void RowDone() => Interlocked.Decrement(ref _pendingRows);

    /// <summary>The first 8 bytes of a key hash, from its first 16 hex digits; false for a malformed hash.</summary>
    public static bool TryPrefix(string keyHash, out ulong prefix)
    {
        prefix = 0;
        return keyHash.Length == 64 && ulong.TryParse(keyHash.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out prefix);
    }
}
