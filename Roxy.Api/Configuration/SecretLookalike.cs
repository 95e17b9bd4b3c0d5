namespace Roxy.Api.Configuration;

/// <summary>
/// Whether text a config diagnostic would print may be a secret pasted in the wrong place: hex and base64 tokens
/// pass as variable names, so such text is described (its length) instead of printed. Random tokens mix letters and
/// digits many times over or run long without a separator; names and model ids do neither.
/// </summary>
internal static class SecretLookalike
{
    private const int MinimumLength = 16;
    private const int LongestWord = 24;
    private const int MostLetterDigitChanges = 2;

    public static bool IsLikely(string text)
    {
        if (text.Length < MinimumLength || text.Any(char.IsWhiteSpace))
        {
            return false;
        }

        int run = 0, changes = 0;
        char previous = '\0';
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                run = 0;
                previous = '\0';
                continue;
            }

            if (++run > LongestWord)
            {
                return true;
            }

            if (previous != '\0' && char.IsAsciiDigit(previous) != char.IsAsciiDigit(c))
            {
                changes++;
            }

            previous = c;
        }

        return changes > MostLetterDigitChanges;
    }

    /// <summary><c>'text'</c>, or a description of it when it may be a secret.</summary>
    public static string Quote(string text) =>
        IsLikely(text) ? $"a value of {text.Length} characters that looks like a secret (not shown)" : $"'{text}'";
}
