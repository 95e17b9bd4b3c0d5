namespace Roxy.Api.Configuration;

/// <summary>The string field must be one of <see cref="Values"/> (checked by the YAML binder and env overrides).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class OneOfAttribute(params string[] values) : Attribute
{
    public IReadOnlyList<string> Values { get; } = values;
}
