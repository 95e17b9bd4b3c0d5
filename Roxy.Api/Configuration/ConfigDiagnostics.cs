namespace Roxy.Api.Configuration;

/// <summary>
/// Collects every problem found while loading, each as one line <c>location: path: message</c>.
/// Remembers where each field path came from (a file position or an environment variable), so later
/// checks can point at the right line.
/// </summary>
internal sealed class ConfigDiagnostics(string file)
{
    private readonly Dictionary<string, string> _locations = new(StringComparer.Ordinal);
    private readonly List<(int Line, int Column, string Text)> _errors = [];
    private readonly HashSet<string> _errorPaths = new(StringComparer.Ordinal);
    private readonly List<string> _warnings = [];

    public string File { get; } = file;
    /// <summary>Errors in file order (line, column); problems from environment variables come last.</summary>
    public IReadOnlyList<string> Errors =>
        [.. _errors.Select((e, i) => (e, i)).OrderBy(x => x.e.Line).ThenBy(x => x.e.Column).ThenBy(x => x.i).Select(x => x.e.Text)];
    public IReadOnlyList<string> Warnings => _warnings;

    public string FileLocation(int line, int column) => $"{File}:{line}:{column}";

    public void SetLocation(string path, string location) => _locations[path] = location;

    /// <summary>Where <paramref name="path"/> was written, or its nearest written ancestor, or the file itself.</summary>
    public string LocationOf(string path)
    {
        var current = path;
        while (current.Length > 0)
        {
            if (_locations.TryGetValue(current, out var location))
            {
                return location;
            }

            current = Parent(current);
        }

        return _locations.TryGetValue("", out var root) ? root : File;
    }

    public bool WasWritten(string path) => _locations.ContainsKey(path);

    public void Error(string path, string message) => ErrorAt(LocationOf(path), path, message);

    public bool HasError(string path) => _errorPaths.Contains(path);

    public void ErrorAt(string location, string path, string message)
    {
        var (line, column) = PositionOf(location);
        _errorPaths.Add(path);
        _errors.Add((line, column, path.Length == 0 ? $"{location}: {message}" : $"{location}: {path}: {message}"));
    }

    private (int Line, int Column) PositionOf(string location)
    {
        if (!location.StartsWith(File + ":", StringComparison.Ordinal))
        {
            return location == File ? (0, 0) : (int.MaxValue, 0);
        }

        var parts = location[(File.Length + 1)..].Split(':');
        return parts.Length == 2 && int.TryParse(parts[0], out var line) && int.TryParse(parts[1], out var column)
            ? (line, column)
            : (0, 0);
    }

    public void Warning(string path, string message) =>
        _warnings.Add(path.Length == 0 ? $"{File}: {message}" : $"{LocationOf(path)}: {path}: {message}");

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? "" : path[..cut];
    }
}
