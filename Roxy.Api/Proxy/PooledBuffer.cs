using System.Buffers;

namespace Roxy.Api.Proxy;

/// <summary>A rented byte buffer with a length; returned to the pool on dispose.</summary>
public sealed class PooledBuffer(int capacity) : IBufferWriter<byte>, IDisposable
{
    // What a declared length may reserve up front; the rest grows as bytes arrive.
    private const int MaxInitialCapacity = 64 * 1024;

    private byte[] _array = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 256));

    /// <summary>
    /// A buffer for a body of <paramref name="declared"/> bytes (a Content-Length, which is only a claim): sized for it
    /// up to 64 KiB, so a length announced but never sent cannot hold memory by itself.
    /// </summary>
    public static PooledBuffer ForDeclaredLength(long? declared, int whenUnknown) =>
        new((int)Math.Min(declared ?? whenUnknown, MaxInitialCapacity) + 1);

    public int Length { get; private set; }

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, Length);

    public Span<byte> GetSpan(int sizeHint)
    {
        EnsureCapacity(Length + sizeHint);
        return _array.AsSpan(Length);
    }

    public Memory<byte> GetMemory(int sizeHint)
    {
        EnsureCapacity(Length + sizeHint);
        return _array.AsMemory(Length);
    }

    public void Advance(int count) => Length += count;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Length += bytes.Length;
    }

    public void Dispose()
    {
        var array = Interlocked.Exchange(ref _array!, null);
        if (array is not null)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _array.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _array.Length * 2));
        _array.AsSpan(0, Length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_array);
        _array = bigger;
    }
}
