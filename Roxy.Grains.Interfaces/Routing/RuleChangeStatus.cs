namespace Roxy.Grains.Routing;

[GenerateSerializer]
public enum RuleChangeStatus
{
    Done = 0,

    /// <summary>The tenant has no rule for that source model.</summary>
    NotFound = 1,

    /// <summary>Config-owned rules follow the YAML: they cannot be changed or removed at run time.</summary>
    ConfigOwned = 2,

    /// <summary>The rule already says that; nothing was written or audited.</summary>
    Unchanged = 3,

    /// <summary>The rule exists but does not name that target.</summary>
    TargetNotFound = 4,

    /// <summary>An embedding rule whose targets would name different models (see <see cref="EmbeddingModels"/>).</summary>
    EmbeddingModelsDiffer = 5,

    /// <summary>The tenant does not exist (never created, or deleted).</summary>
    TenantNotFound = 6,
}
