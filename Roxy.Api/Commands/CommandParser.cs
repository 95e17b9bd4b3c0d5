namespace Roxy.Api.Commands;

/// <summary>Recognises a <c>#roxy</c> command: the last user message starts with it, after leading white space.</summary>
public static class CommandParser
{
    public const string Prefix = "#roxy";

    public static bool IsCommand(string? text)
    {
        if (text is null)
        {
            return false;
        }

        var trimmed = text.AsSpan().TrimStart();
        return trimmed.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
            && (trimmed.Length == Prefix.Length || char.IsWhiteSpace(trimmed[Prefix.Length]));
    }

    /// <summary>The words after <c>#roxy</c>.</summary>
    public static IReadOnlyList<string> Words(string text) =>
        text.AsSpan().TrimStart()[Prefix.Length..].ToString()
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
