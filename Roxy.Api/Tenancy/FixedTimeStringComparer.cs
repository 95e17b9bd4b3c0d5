using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Roxy.Api.Tenancy;

/// <summary>
/// Ordinal string equality that takes the same time wherever two tokens differ, for dictionaries keyed by secrets.
/// Hash codes are the runtime's randomized ones, so a client cannot steer which stored token its guess is compared
/// with; the comparison itself then leaks nothing but the length.
/// </summary>
public sealed class FixedTimeStringComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
{
    public static readonly FixedTimeStringComparer Instance = new();

    public bool Equals(string? x, string? y) =>
        x is not null && y is not null ? Equal(x, y) : ReferenceEquals(x, y);

    public int GetHashCode(string obj) => string.GetHashCode(obj.AsSpan());

    public bool Equals(ReadOnlySpan<char> alternate, string other) => Equal(alternate, other);

    public int GetHashCode(ReadOnlySpan<char> alternate) => string.GetHashCode(alternate);

    public string Create(ReadOnlySpan<char> alternate) => alternate.ToString();

    private static bool Equal(ReadOnlySpan<char> x, ReadOnlySpan<char> y) =>
        CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(x), MemoryMarshal.AsBytes(y));
}
