using System.Globalization;

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

    /// <summary>
    /// <see cref="Expectation"/> with the bounds, so a value over the top says what is allowed
    /// ("a positive integer (1 to 2147483647)"); no upper bound is shown when there is none to speak of.
    /// </summary>
    public string Describe()
    {
        if (Max >= long.MaxValue)
        {
            return Expectation;
        }

        var max = Number(Max);
        if (Expectation.Contains(max, StringComparison.Ordinal))
        {
            return Expectation;
        }

        return MinExclusive ? $"{Expectation} (greater than {Number(Min)}, at most {max})" : $"{Expectation} ({Number(Min)} to {max})";
    }

    private static string Number(double value) =>
        value.ToString(value == Math.Floor(value) ? "0" : "R", CultureInfo.InvariantCulture);
}
