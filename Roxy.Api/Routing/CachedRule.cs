using Roxy.Grains.Routing;

namespace Roxy.Api.Routing;

/// <summary>
/// A rule as this frontend read it from its grain (<see cref="Rule"/> null: the grain holds none), with its routes
/// compiled for the tenant snapshot they were last resolved against and its round-robin turn.
/// </summary>
public sealed class CachedRule(ModelRule? rule, long version)
{
    private int _turn = -1;

    public ModelRule? Rule { get; } = rule;

    public long Version { get; } = version;

    /// <summary>Set by <see cref="ModelResolver"/>; replaced whole, so readers never see half of it.</summary>
    internal volatile RuleRoutes? Routes;

    /// <summary>0, 1, 2, … across every request of this frontend, for round-robin.</summary>
    internal uint NextTurn() => (uint)Interlocked.Increment(ref _turn);
}
