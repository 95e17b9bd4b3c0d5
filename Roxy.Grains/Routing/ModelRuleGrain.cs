namespace Roxy.Grains.Routing;

public sealed class ModelRuleGrain(
    [PersistentState("modelrule", RoxyStorage.Name)] IPersistentState<ModelRuleState> state) : Grain, IModelRuleGrain
{
    private VersionedRule? _current;

    ValueTask<VersionedRule> IModelRuleGrain.GetAsync() =>
        ValueTask.FromResult(_current ??= new VersionedRule(state.State.Rule, state.State.Version));

    async Task<long> IModelRuleGrain.SetAsync(ModelRule? rule)
    {
        var s = state.State;
        if (Same(s.Rule, rule))
        {
            return s.Version;
        }

        var source = GrainKeys.ParseModelRule(this.GetPrimaryKeyString()).SourceModel;
        if (rule is not null && rule.SourceModel != source)
        {
            throw new ArgumentException($"Rule for '{rule.SourceModel}' sent to the grain of '{source}'.", nameof(rule));
        }

        // Memory follows storage: a failed write leaves the stored rule and version, so no reader sees a version twice.
        var (ruleBefore, versionBefore) = (s.Rule, s.Version);
        (s.Rule, s.Version) = (rule, versionBefore + 1);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            (s.Rule, s.Version) = (ruleBefore, versionBefore);
            throw;
        }

        _current = null;
        return s.Version;
    }

    // Records compare lists by reference; rules must compare their targets by value.
    private static bool Same(ModelRule? a, ModelRule? b) =>
        a is null || b is null
            ? a is null && b is null
            : a.SourceModel == b.SourceModel && a.Policy == b.Policy && a.Owner == b.Owner
              && a.FailoverOnContextLength == b.FailoverOnContextLength && a.Targets.SequenceEqual(b.Targets);
}
