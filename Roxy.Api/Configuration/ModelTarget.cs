namespace Roxy.Api.Configuration;

/// <summary>A rule target. <see cref="Provider"/> is null when the target had no known-provider prefix (inferred at run time).</summary>
public sealed record ModelTarget(string? Provider, string Model)
{
    /// <summary>
    /// Splits <c>provider:model</c> at the first ':' only when the prefix is a known provider;
    /// otherwise the whole string is the model name (<c>llama3:8b</c>).
    /// </summary>
    public static ModelTarget Parse(string target, IReadOnlySet<string> knownProviders)
    {
        var colon = target.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && knownProviders.Contains(target[..colon]))
        {
            return new ModelTarget(target[..colon], target[(colon + 1)..]);
        }

        return new ModelTarget(null, target);
    }

    public override string ToString() => Provider is null ? Model : $"{Provider}:{Model}";
}
