using Roxy.Api.Configuration;
using Roxy.Api.Providers;
using Roxy.Grains.Routing;

namespace Roxy.Api.Commands;

/// <summary>The words of the model commands, checked the way the config checks <c>model_rules</c>.</summary>
internal static class ModelRuleArgs
{
    public const string Policies = "random, roundrobin, fallback";

    // Provider key shapes: typed where a model belongs, such a word is neither stored nor echoed.
    private static readonly string[] KeyPrefixes = ["sk-", "sk_", "gsk_", "xai-", "cpk_", "AIza"];

    public static IReadOnlySet<string> KnownProviders(ProviderRegistry providers) =>
        providers.All.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

    public static bool LooksLikeKey(string word) =>
        word.Length >= 20 && KeyPrefixes.Any(p => word.StartsWith(p, StringComparison.Ordinal));

    public static string? SourceProblem(string source) =>
        Proxy.ChatRequestReader.IsModelName(source)
            ? null
            : $"The source model must be at most {Proxy.ChatRequestReader.MaxModelLength} printable ASCII characters without spaces, as clients send model names.";

    /// <summary>Null and the parsed target when <paramref name="text"/> is a valid <c>[provider:]model</c>.</summary>
    public static string? TargetProblem(string text, IReadOnlySet<string> known, out RuleTarget target)
    {
        var parsed = ModelTarget.Parse(text, known);
        target = new RuleTarget(parsed.Provider, parsed.Model);
        if (ConfigValidator.TargetProblem(text, known) is not { } problem)
        {
            return null;
        }

        // Printable text is quoted back; anything else is described, as the config does.
        return Proxy.ChatRequestReader.IsModelName(text) ? $"Target {Markdown.Code(text)}: {problem}." : $"The target {problem}.";
    }

    public static bool TryPolicy(string word, out SelectionPolicy policy)
    {
        switch (word.ToLowerInvariant())
        {
            case "fallback":
                policy = SelectionPolicy.Fallback;
                return true;
            case "roundrobin":
                policy = SelectionPolicy.RoundRobin;
                return true;
            case "random":
                policy = SelectionPolicy.Random;
                return true;
            default:
                policy = default;
                return false;
        }
    }

    public static string Name(SelectionPolicy policy) => policy switch
    {
        SelectionPolicy.RoundRobin => "roundrobin",
        SelectionPolicy.Random => "random",
        _ => "fallback",
    };

    /// <summary>A target as written in config and listings: <c>provider:model</c>, or the bare model.</summary>
    public static string Show(RuleTarget target) => target.Provider is null ? target.Model : $"{target.Provider}:{target.Model}";

    public static string Targets(ModelRule rule) => string.Join(", ", rule.Targets.Select(t => Markdown.Code(Show(t))));
}
