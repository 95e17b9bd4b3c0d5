namespace Roxy.Api.Commands;

/// <summary>Every registered command, matched by the longest run of leading words.</summary>
public sealed class CommandRegistry(IEnumerable<IRoxyCommand> commands)
{
    private readonly IRoxyCommand[] _commands = commands.OrderBy(c => c.Name, StringComparer.Ordinal).ToArray();

    public IReadOnlyList<IRoxyCommand> All => _commands;

    public IRoxyCommand? Match(IReadOnlyList<string> words, out IReadOnlyList<string> rest)
    {
        IRoxyCommand? best = null;
        var bestLength = 0;
        foreach (var command in _commands)
        {
            var name = command.Name.Split(' ');
            if (name.Length <= words.Count && name.Length > bestLength
                && name.Select((w, i) => string.Equals(w, words[i], StringComparison.OrdinalIgnoreCase)).All(b => b))
            {
                best = command;
                bestLength = name.Length;
            }
        }

        rest = words.Skip(bestLength).ToArray();
        return best;
    }
}
