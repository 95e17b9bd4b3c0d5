using System.IO.Hashing;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.ML.Tokenizers;

namespace Roxy.Api.Proxy;

/// <summary>
/// Token counts of texts seen before, so a prompt's unchanged parts are not tokenized again: a chat client resends the
/// whole conversation (system prompt, every earlier turn) with each request, and BPE over those strings was the
/// largest single item of a proxied request's CPU (about a sixth at concurrency 16).
/// </summary>
/// <remarks>
/// A fixed, direct-mapped table: a text's slot is picked by a 64-bit XxHash3 of its characters, seeded at random per
/// process so no one can shape two texts to collide; an entry matches only with the same tokenizer, length and hash.
/// A newer text takes its slot over, so memory stays at <see cref="DefaultSlots"/> small objects whatever the traffic. Entries
/// are immutable and replaced by one reference write: readers never see a half-written one, and a lost race only costs
/// a count done twice.
/// </remarks>
internal sealed class TokenCountMemo(int slots = TokenCountMemo.DefaultSlots)
{
    /// <summary>The one table of the process.</summary>
    public static readonly TokenCountMemo Shared = new();

    /// <summary>Texts shorter than this are tokenized every time: hashing and a table read would cost about as much.</summary>
    public const int MinChars = 64;

    public const int DefaultSlots = 8192;

    private static readonly long Seed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
    private readonly Entry?[] _table = new Entry?[BitOperations.RoundUpToPowerOf2((uint)Math.Max(slots, 1))];

    /// <summary>The count remembered for <paramref name="text"/>; else false, with the hash to <see cref="Remember"/> it under.</summary>
    public bool TryGet(Tokenizer tokenizer, ReadOnlySpan<char> text, out ulong hash, out long tokens)
    {
        hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(text), Seed);
        var entry = Volatile.Read(ref _table[(int)(hash & (ulong)(_table.Length - 1))]);
        if (entry is not null && entry.Hash == hash && entry.Length == text.Length && ReferenceEquals(entry.Tokenizer, tokenizer))
        {
            tokens = entry.Tokens;
            return true;
        }

        tokens = 0;
        return false;
    }

    public void Remember(Tokenizer tokenizer, ulong hash, int length, long tokens) =>
        Volatile.Write(ref _table[(int)(hash & (ulong)(_table.Length - 1))], new Entry(tokenizer, hash, length, tokens));

    private sealed record Entry(Tokenizer Tokenizer, ulong Hash, int Length, long Tokens);
}
