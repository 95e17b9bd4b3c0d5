using System.Globalization;

namespace Roxy.Api.Commands;

/// <summary>A command's arguments: positional words, then <c>name=value</c> options.</summary>
public sealed class CommandArgs
{
    private readonly Dictionary<string, string> _options;

    private CommandArgs(IReadOnlyList<string> positional, Dictionary<string, string> options)
    {
        Positional = positional;
        _options = options;
    }

    public IReadOnlyList<string> Positional { get; }

    public IEnumerable<string> OptionNames => _options.Keys;

    public static CommandArgs Parse(IReadOnlyList<string> words)
    {
        var positional = new List<string>();
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var word in words)
        {
            var eq = word.IndexOf('=', StringComparison.Ordinal);
            // A key can contain '=' (base64); only short lower-case names count as options.
            if (eq is > 0 and <= 12 && word[..eq].All(char.IsAsciiLetterLower))
            {
                options[word[..eq]] = word[(eq + 1)..];
            }
            else
            {
                positional.Add(word);
            }
        }

        return new CommandArgs(positional, options);
    }

    /// <summary>An optional positive integer option; the error says which and why.</summary>
    public bool TryGetInt(string name, int fallback, int min, out int value, out string? error)
    {
        error = null;
        value = fallback;
        if (!_options.TryGetValue(name, out var text))
        {
            return true;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min)
        {
            return true;
        }

        error = $"`{name}` must be a whole number of at least {min}, got `{text}`.";
        return false;
    }
}
