namespace Roxy.Grains.Rotation;

/// <summary>
/// An indexed binary min-heap of keys: the smallest in O(1), insert, remove and re-place any key in O(log n). Each key
/// remembers its own place (<see cref="Place"/>), so a key whose numbers changed moves without a search. This is what
/// lets a pool of a thousand keys grant a lease for the cost of a pool of four: no lease looks at every key.
/// </summary>
internal abstract class KeyHeap
{
    private KeyRuntime[] _items = new KeyRuntime[8];

    public int Count { get; private set; }

    public KeyRuntime Min => _items[0];

    public bool Contains(KeyRuntime k) => Place(k) >= 0;

    /// <summary>Adds <paramref name="k"/>, or moves it to where its current numbers put it.</summary>
    public void Set(KeyRuntime k)
    {
        ref var place = ref Place(k);
        if (place < 0)
        {
            if (Count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length * 2);
            }

            place = Count++;
            _items[place] = k;
            Up(place);
            return;
        }

        if (!Up(place))
        {
            Down(place);
        }
    }

    public void Remove(KeyRuntime k)
    {
        ref var place = ref Place(k);
        if (place < 0)
        {
            return;
        }

        var at = place;
        place = -1;
        var last = _items[--Count];
        _items[Count] = null!;
        if (at == Count)
        {
            return;
        }

        _items[at] = last;
        Place(last) = at;
        if (!Up(at))
        {
            Down(at);
        }
    }

    public KeyRuntime Pop()
    {
        var min = _items[0];
        Remove(min);
        return min;
    }

    public void Clear()
    {
        for (var i = 0; i < Count; i++)
        {
            Place(_items[i]) = -1;
            _items[i] = null!;
        }

        Count = 0;
    }

    /// <summary>Where the key sits in this heap (-1: not in it); a field of the key, one per heap kind.</summary>
    protected abstract ref int Place(KeyRuntime k);

    protected abstract bool Less(KeyRuntime a, KeyRuntime b);

    private bool Up(int at)
    {
        var moved = false;
        var k = _items[at];
        while (at > 0)
        {
            var parent = (at - 1) / 2;
            if (!Less(k, _items[parent]))
            {
                break;
            }

            _items[at] = _items[parent];
            Place(_items[at]) = at;
            at = parent;
            moved = true;
        }

        _items[at] = k;
        Place(k) = at;
        return moved;
    }

    private void Down(int at)
    {
        var k = _items[at];
        while (true)
        {
            var child = (2 * at) + 1;
            if (child >= Count)
            {
                break;
            }

            if (child + 1 < Count && Less(_items[child + 1], _items[child]))
            {
                child++;
            }

            if (!Less(_items[child], k))
            {
                break;
            }

            _items[at] = _items[child];
            Place(_items[at]) = at;
            at = child;
        }

        _items[at] = k;
        Place(k) = at;
    }
}
