namespace Roxy.Grains.Routing;

/// <summary>
/// One model rule of one tenant (key: <see cref="GrainKeys.ModelRule"/>), persisted in PostgreSQL. Frontends read it
/// once and keep it in memory; only the tenant grain writes it, so the tenant's index of rule names and the rules
/// themselves change in one order.
/// </summary>
[Alias("roxy.IModelRuleGrain")]
public interface IModelRuleGrain : IGrainWithStringKey
{
    /// <summary>The rule (null when there is none) and the version it was stored at.</summary>
    [Alias("Get")]
    ValueTask<VersionedRule> GetAsync();

    /// <summary>
    /// Stores the rule, or removes it when null, and returns the version it now has. A rule equal to the stored one is
    /// not written again and keeps its version, so applying the same YAML at every start writes nothing.
    /// </summary>
    [Alias("Set")]
    Task<long> SetAsync(ModelRule? rule);
}
