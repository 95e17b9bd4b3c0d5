namespace Roxy.Api.Configuration;

/// <summary>The field must be present and non-empty; <see cref="Hint"/> says what to put there.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class RequiredFieldAttribute(string hint) : Attribute
{
    public string Hint { get; } = hint;
}
