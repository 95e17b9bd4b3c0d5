using System.Collections;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Roxy.Api.Configuration;

/// <summary>
/// Reads <c>config.yaml</c>, applies environment overrides and discovery, validates, and resolves.
/// Every problem is collected; each is one line <c>file:line:col: field.path: what is wrong; what is allowed</c>.
/// </summary>
public static partial class ConfigLoader
{
    /// <summary>Loads and resolves the config at <paramref name="path"/> against <paramref name="environment"/>.</summary>
    public static ConfigLoadResult Load(string path, IReadOnlyDictionary<string, string?> environment)
    {
        var diagnostics = new ConfigDiagnostics(path);
        if (Parse(path, diagnostics) is not { } root)
        {
            return new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings);
        }

        var binder = new YamlBinder(diagnostics);
        var config = new RoxyConfig();
        diagnostics.SetLocation("", diagnostics.FileLocation((int)root.Start.Line, (int)root.Start.Column));
        binder.BindObject(root, config, "");
        EnvironmentOverrides.Apply(config, environment, binder);
        ConfigValidator.Validate(config, environment, diagnostics);
        var resolved = new ConfigResolver(config, environment, diagnostics).Resolve();

        return diagnostics.Errors.Count == 0
            ? new ConfigLoadResult(resolved with { Warnings = [.. diagnostics.Warnings] }, [], [.. diagnostics.Warnings])
            : new ConfigLoadResult(null, [.. diagnostics.Errors], [.. diagnostics.Warnings]);
    }

    /// <summary>The process environment in the shape <see cref="Load"/> takes.</summary>
    public static IReadOnlyDictionary<string, string?> ProcessEnvironment() =>
        Environment.GetEnvironmentVariables()
            .Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);

    private static YamlMappingNode? Parse(string path, ConfigDiagnostics diagnostics)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            diagnostics.ErrorAt(path, "", "config file not found; pass --config PATH or set ROXY_CONFIG (configs/config.example.yaml is a starting point)");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            diagnostics.ErrorAt(path, "", $"config file cannot be read: {e.Message}");
            return null;
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            var message = MarkPrefix().Replace(e.InnerException?.Message ?? e.Message, "");
            diagnostics.ErrorAt(diagnostics.FileLocation((int)e.Start.Line, (int)e.Start.Column), "", $"invalid YAML: {message}");
            return null;
        }

        if (stream.Documents.Count == 0
            || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            diagnostics.ErrorAt(path, "", "config file is empty; expected a mapping of settings (see configs/config.example.yaml)");
            return null;
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            diagnostics.ErrorAt(diagnostics.FileLocation((int)second.Line, (int)second.Column), "",
                "the file holds more than one YAML document; put all settings in one");
            return null;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var start = stream.Documents[0].RootNode.Start;
            diagnostics.ErrorAt(diagnostics.FileLocation((int)start.Line, (int)start.Column), "",
                "the top level must be a mapping of settings (listen_addr:, api_keys:, ...)");
            return null;
        }

        return root;
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();
}
