namespace Roxy.Api.Configuration;

/// <summary>The numeric field must lie in [<see cref="Min"/>, <see cref="Max"/>]; <see cref="Expectation"/> words the rule for messages.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class RangeRuleAttribute(double min, double max) : Attribute
{
    public double Min { get; } = min;
    public double Max { get; } = max;
    public bool MinExclusive { get; init; }
    public string Expectation { get; init; } = "a number";

    public bool Allows(double value) =>
        (MinExclusive ? value > Min : value >= Min) && value <= Max;
}
